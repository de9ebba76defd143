"""glibc's allocator told to give a loading process's large buffers back, not keep them.

A month's bytes pass through Python in buffers of 128 kB and more: the inflater's 1 MB chunks,
the line splitter's pending bytes and its 256 kB blocks, the duplicate counter's joined chunk.
glibc raises its mmap threshold to the largest buffer freed so far (up to 32 MB), so after the
first 1 MB chunk all of them come from the heap of the reading thread's arena; blocks freed by
the COPY threads while the reader keeps allocating leave holes there that are not given back.
Two 1.5-million-row months side by side, two streams each, grew a process by 41-43 MB; with
every buffer of 128 kB or more mapped on its own (unmapped when freed) by 33-34 MB, what one
stream each took before; the course at scale 0.2: +105-107 MB over imports, now +82 MB. Each
thread may also get an arena of its own (up to 8 per core), each keeping its free memory; two
are enough for a loader.

Settings are process-wide and taken once, when a process's first month starts loading (before
its COPY threads start); they only change where memory comes from, never what is loaded.
Elsewhere than on glibc this does nothing.
"""

import contextlib
import ctypes
import ctypes.util
import functools
import sys
from collections.abc import Iterator

_M_MMAP_THRESHOLD, _M_ARENA_MAX = -3, -8  # mallopt parameters (malloc.h)
MMAP_THRESHOLD_BYTES = 128 << 10  # glibc's own starting value, kept instead of raised
ARENA_MAX = 2


@functools.cache
def _glibc() -> ctypes.CDLL | None:
    """The C library when it is glibc (it alone has mallopt's parameters and malloc_trim)."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        libc.gnu_get_libc_version  # noqa: B018 - musl and others lack it
    except (OSError, AttributeError):
        return None
    return libc


@functools.cache
def bound_malloc() -> bool:
    """Map large buffers on their own and cap the arenas (once a process); whether it could."""
    libc = _glibc()
    if libc is None:
        return False
    mapped = libc.mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES)
    capped = libc.mallopt(_M_ARENA_MAX, ARENA_MAX)
    return bool(mapped and capped)


def trim_malloc() -> None:
    """Give the arenas' free pages back to the system: a month's end leaves them free."""
    libc = _glibc()
    if libc is not None:
        libc.malloc_trim(0)


@contextlib.contextmanager
def bounded_malloc() -> Iterator[None]:
    """For one month's load: the bounds taken (once a process), the arenas trimmed at its end."""
    bound_malloc()
    try:
        yield
    finally:
        trim_malloc()
