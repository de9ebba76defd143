"""A loading process's allocator settings (malloc_bounds.py): on glibc a month's large buffers
get mappings of their own, given back when freed, even after glibc would have raised its
threshold; elsewhere nothing happens."""

import subprocess
import sys

import pytest

from taxi_assets.mechanics import malloc_bounds

# One 1 MB buffer freed (glibc then raises its mmap threshold to that size, and later buffers of
# the size come from the heap, where holes between them stay), then 64 more allocated and
# freed. Prints glibc's count of mapped chunks (mallinfo2's hblks) with the 64 held, then after.
BUFFERS = """
import ctypes, sys
from taxi_assets.mechanics.malloc_bounds import bound_malloc

class MallInfo2(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in (
        "arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks",
        "fordblks", "keepcost")]

mallinfo2 = ctypes.CDLL("libc.so.6").mallinfo2
mallinfo2.restype = MallInfo2
if sys.argv[1] == "bounded":
    bound_malloc()
first = b"x" * (1 << 20)
del first
buffers = [b"x" * (1 << 20) for _ in range(64)]
held = mallinfo2().hblks
del buffers
print(held, mallinfo2().hblks)
"""


def _mapped_chunks(mode: str) -> tuple[int, int]:
    done = subprocess.run(
        [sys.executable, "-c", BUFFERS, mode], capture_output=True, text=True, check=True
    )
    held, after = done.stdout.split()
    return int(held), int(after)


def test_bounded_buffers_are_mapped_on_their_own_and_given_back() -> None:
    assert malloc_bounds._glibc() is not None, "the loader's machines run glibc"
    held, after = _mapped_chunks("bounded")
    assert held >= 64 and after <= held - 64
    held, _ = _mapped_chunks("default")
    assert held < 64  # without the bound they come from the heap: why the bound exists


def test_elsewhere_nothing_happens(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(malloc_bounds, "_glibc", lambda: None)
    malloc_bounds.bound_malloc.cache_clear()
    try:
        assert malloc_bounds.bound_malloc() is False
        malloc_bounds.trim_malloc()
    finally:
        malloc_bounds.bound_malloc.cache_clear()
