"""The scan that refuses NaN and infinities in a CSV's numeric columns as it streams to COPY."""

import pytest

from taxi_assets.datasets import FHV, YELLOW
from taxi_assets.mechanics.errors import BadSourceFileError
from taxi_assets.mechanics.finite_numbers import refusing_non_finite

HEADER = ",".join(YELLOW.header).encode() + b"\r\n"
GOOD = (
    b"1,2021-03-01 00:00:00,2021-03-01 00:10:00,1,2.1,1,N,142,43,1,8,0.5,0.5,2,0,0.3,11.3,2.5\r\n"
)
TOTAL = YELLOW.header.index("total_amount")


def with_total(value: bytes) -> bytes:
    fields = GOOD.rstrip(b"\r\n").split(b",")
    fields[TOTAL] = value
    return b",".join(fields) + b"\r\n"


def chunked(data: bytes, size: int) -> list[bytes]:
    return [data[i : i + size] for i in range(0, len(data), size)]


def passed(chunks: list[bytes], columns=YELLOW.columns) -> bytes:
    return b"".join(refusing_non_finite(chunks, columns, "2021-03 (f.csv.gz)"))


@pytest.mark.parametrize("size", [1, 7, 64, 1 << 20])
@pytest.mark.parametrize("value", [b"NaN", b"nan", b"Infinity", b"-Infinity", b" +inf ", b"-INF"])
def test_a_non_finite_total_is_refused_with_its_line_wherever_the_chunks_cut(
    value: bytes, size: int
) -> None:
    data = HEADER + GOOD * 40 + with_total(value) + GOOD * 3
    with pytest.raises(BadSourceFileError) as refused:
        passed(chunked(data, size))
    message = str(refused.value)
    assert message.startswith("2021-03 (f.csv.gz) has a NaN or infinite number")
    assert "column total_amount, line 42;" in message


def test_a_non_finite_value_on_a_last_line_without_its_line_end_is_refused() -> None:
    data = HEADER + GOOD * 2 + with_total(b"nan").rstrip(b"\r\n")
    with pytest.raises(BadSourceFileError, match="line 4;"):
        passed(chunked(data, 5))


@pytest.mark.parametrize("size", [3, 1 << 20])
def test_clean_rows_pass_unchanged_letters_in_text_columns_and_huge_numbers_included(
    size: int,
) -> None:
    fields = GOOD.rstrip(b"\r\n").split(b",")
    fields[YELLOW.header.index("store_and_fwd_flag")] = b'"Fanfare, a flag"'
    data = HEADER + GOOD * 5 + b",".join(fields) + b"\r\n" + with_total(b"1e309") + GOOD
    assert passed(chunked(data, size)) == data


def test_a_dataset_whose_nan_lands_in_a_text_column_is_not_refused() -> None:
    header = ",".join(FHV.header).encode() + b"\n"
    row = b"NaN,2019-01-01 00:10:00,2019-01-01 00:20:00,1,2,,NaN\n"
    data = header + row
    assert passed([data], FHV.columns) == data
