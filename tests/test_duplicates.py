"""Duplicate lines counted as a month streams into the warehouse: exact, at flat memory."""

import gzip
import random
from pathlib import Path

import pandas as pd
import pytest

from taxi_assets.mechanics.duplicates import DuplicateLines


def count_in_chunks(data: bytes, chunk_bytes: int, scratch: Path) -> int:
    counter = DuplicateLines(scratch)
    try:
        for start in range(0, len(data), chunk_bytes):
            counter.feed(data[start : start + chunk_bytes])
        return counter.extra_copies()
    finally:
        counter.close()


@pytest.mark.parametrize("line_end", ["\r\n", "\n"], ids=["crlf", "lf"])  # the mirror's, a copy's
@pytest.mark.parametrize("chunk_bytes", [7, 4096, 1 << 20])
def test_counts_what_pandas_counts_whatever_the_chunking(
    tmp_path: Path, chunk_bytes: int, line_end: str
) -> None:
    rng = random.Random(7)
    lines = [f"{rng.randrange(300)},{rng.randrange(5)}" for _ in range(5000)]
    data = ("a,b" + line_end + line_end.join(lines)).encode()  # the last line has no line end
    expected = int(pd.Series(lines).duplicated().sum())
    assert count_in_chunks(data, chunk_bytes, tmp_path) == expected > 1000


def test_the_header_and_a_line_repeated_far_apart_count_right(tmp_path: Path) -> None:
    data = b"a,b\n1,2\na,b\n" + b"3,4\n" * 10 + b"1,2\n"
    assert count_in_chunks(data, 5, tmp_path) == 9 + 1  # the header is not a data line


def test_leaves_no_file_behind(tmp_path: Path) -> None:
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    count_in_chunks(gzip.decompress(gzip.compress(b"h\n1\n1\n")), 2, scratch)
    assert list(scratch.iterdir()) == []


def test_its_bucket_files_have_no_name_so_a_killed_load_leaves_none(tmp_path: Path) -> None:
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    counter = DuplicateLines(scratch)
    try:
        counter.feed(b"h\n1\n1\n2\n")
        assert list(scratch.iterdir()) == []  # nothing a SIGKILL could leave behind
        assert counter.extra_copies() == 1
    finally:
        counter.close()
