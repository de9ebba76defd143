"""NaN and ±Infinity refused in a month's numeric columns while its CSV streams to COPY.

Postgres `numeric` accepts `NaN`, `Infinity` and `-Infinity`, which no fare or distance can be.
A CHECK on the staging table used to refuse them, but Postgres evaluated it on every row inside
the COPY backend: about 15% of that backend's CPU (1.0 s of 6.5 s for a 3-million-row month),
and on two cores the backends' CPU is what a load is made of. Every spelling `numeric` accepts
for them holds an `a` (NaN) or an `f` (inf, Infinity) in either case, letters no number, time
or flag of the trip files holds: a chunk without them (every chunk of a real month) is clean
after four byte searches; only the lines of a chunk that has one are parsed, and their numeric
fields checked exactly.
"""

import csv
from collections.abc import Iterable, Iterator, Sequence

from taxi_assets.mechanics.errors import BadSourceFileError
from taxi_assets.mechanics.schema import Column

_HINTS = (b"a", b"A", b"f", b"F")
# What Postgres' numeric input reads as NaN or an infinity, once trimmed, signless, lower case.
_NON_FINITE = frozenset({"nan", "inf", "infinity"})


def non_finite_refusal(where: str, column: str, place: str) -> BadSourceFileError:
    """The error a NaN or infinite number gets, whichever source it came from."""
    return BadSourceFileError(
        f"{where} has a NaN or infinite number, which no fare or distance can be: column "
        f"{column}, {place}; the previous rows are unchanged"
    )


def refusing_non_finite(
    chunks: Iterable[bytes], columns: Sequence[Column], where: str
) -> Iterator[bytes]:
    """Pass a CSV's chunks (header line first, `columns` in file order) through unchanged;
    raise, naming the file's line and column, at the first NaN or infinite numeric value."""
    numeric = {i: c.name for i, c in enumerate(columns) if c.pg_type == "numeric"}
    if not numeric:
        yield from chunks
        return
    line = 1  # the file line the pending bytes start on (the header is line 1)
    pending = b""  # the last line seen so far, not yet ended
    for chunk in chunks:
        end = chunk.rfind(b"\n") + 1
        if not end:
            pending += chunk
        elif _hinted(chunk) or _hinted(pending):
            lines = pending + chunk[:end]
            _check(lines, line, numeric, where)
            line += lines.count(b"\n")
            pending = chunk[end:]
        else:  # the clean path: no copy of the chunk
            line += chunk.count(b"\n", 0, end)
            pending = chunk[end:]
        yield chunk
    if pending:
        _check(pending, line, numeric, where)


def _check(lines: bytes, first_line: int, numeric: dict[int, str], where: str) -> None:
    """Refuse the first non-finite numeric value among `lines` (whole lines from `first_line`)."""
    for offset, text in enumerate(lines.split(b"\n")):
        number = first_line + offset
        if number == 1 or not _hinted(text):
            continue
        fields = next(csv.reader([text.decode("utf-8", "replace").rstrip("\r")]), [])
        for index, name in numeric.items():
            if index < len(fields) and fields[index].strip().lower().lstrip("+-") in _NON_FINITE:
                raise non_finite_refusal(where, name, f"line {number}")


def _hinted(data: bytes) -> bool:
    """Whether `data` holds a letter every NaN or infinity spelling has (memchr-fast)."""
    return any(hint in data for hint in _HINTS)
