"""The checks' counts of a Parquet month, and its rows' hashes for the duplicate count, taken
from its Arrow batches on their way to COPY.

For a CSV month the staged gate counts the rows in Postgres, one scan after COPY (quality_sql.py).
A Parquet month's rows are already typed columns in memory before they become CSV, so the same
predicates are a few vectorized passes there: about 0.1 s of CPU for a 3-million-row month,
against the scan's 0.75 s of wall time (two parallel workers) between its COPY and its swap.

Each rule means what its SQL means: NULL never flags a row, OR is Kleene's, and a float compares
as the `numeric` its CSV text becomes (Arrow writes the shortest text that reads back as the
same double, so order and signs are kept: `-0` is not negative in either). The duplicate rule
is left at 0 here, as the SQL gate leaves it: the load counts repeated rows itself.

That count (duplicates.py) hashes a CSV month's lines in Python. A Parquet month's rows are
hashed here from their columns instead (`row_hashes`: 0.4 s of CPU for a 3-million-row month
against 0.7 s for its lines, on the core that also turns the batches into CSV): equal rows
write equal lines, so the count is the same, exact up to 64-bit collisions.
"""

import datetime as dt

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from taxi_assets.mechanics.dataset_spec import DatasetSpec, WarningRule
from taxi_assets.mechanics.duplicates import DuplicateLines
from taxi_assets.mechanics.months import next_month
from taxi_assets.mechanics.quality_sql import EXTREME_MAGNITUDE, MonthCounts, extreme_columns


class ArrowCounts:
    """Feed a month's cast batches in order; `counts()` is what `quality_sql.table_counts`
    would count on the staged table (the duplicate rule at 0). Each row's hash goes to
    `duplicates`, if given."""

    def __init__(
        self, spec: DatasetSpec, month: dt.date, duplicates: DuplicateLines | None = None
    ) -> None:
        self.spec, self.duplicates = spec, duplicates
        self._start = pa.scalar(dt.datetime.combine(month, dt.time()), pa.timestamp("us"))
        self._end = pa.scalar(dt.datetime.combine(next_month(month), dt.time()), pa.timestamp("us"))
        self._numeric = extreme_columns(spec)
        self._rows = 0
        self._flagged = {rule.name: 0 for rule in spec.warnings}

    def add(self, batch: pa.RecordBatch) -> None:
        self._rows += batch.num_rows
        if self.duplicates is not None:
            self.duplicates.store_hashes(row_hashes(batch))
        for rule in self.spec.warnings:
            if rule.kind != "duplicates":
                self._flagged[rule.name] += _true_count(self._flags(rule, batch))

    def counts(self) -> MonthCounts:
        return MonthCounts(rows=self._rows, flagged=dict(self._flagged))

    def _flags(self, rule: WarningRule, batch: pa.RecordBatch) -> pa.Array:
        column = [batch.column(name) for name in rule.columns]
        if rule.kind == "outside_month":
            early, late = pc.less(column[0], self._start), pc.greater_equal(column[0], self._end)
            return pc.or_kleene(early, late)
        if rule.kind == "negative":
            return pc.less(column[0], pa.scalar(0, column[0].type))
        if rule.kind == "before":
            return pc.less(column[0], column[1])
        if rule.kind == "missing":
            return pc.is_null(column[0])
        if rule.kind == "extreme":
            flags = pa.nulls(batch.num_rows, pa.bool_())
            for name in self._numeric:
                beyond = pc.greater(pc.abs(batch.column(name)), float(EXTREME_MAGNITUDE))
                flags = pc.or_kleene(flags, beyond)
            return flags
        raise ValueError(f"no row predicate for a {rule.kind} rule")


def _true_count(flags: pa.Array) -> int:
    """Rows whose flag is true (false and NULL are not counted, as by `FILTER (WHERE ...)`)."""
    return int(pc.sum(flags.cast(pa.int64()), min_count=0).as_py())


_SEED = np.uint64(0xCBF29CE484222325)
_MULTIPLIER = np.uint64(0x9E3779B97F4A7C15)
_SHIFT = np.uint64(31)
_NULL = np.uint64(0x5BD1E9955BD1E995)  # a NULL, in any column


def row_hashes(batch: pa.RecordBatch) -> np.ndarray:
    """Each row's 64-bit hash, from its columns in order. Every step (xor a column's word,
    multiply by an odd number, xor-shift) is a bijection, so rows that differ in one column
    never share a hash; otherwise a shared hash is a 64-bit collision."""
    rows = np.full(batch.num_rows, _SEED, dtype=np.uint64)
    for column in batch.columns:
        rows ^= _words(column)
        rows *= _MULTIPLIER
        rows ^= rows >> _SHIFT
    return rows


def _words(column: pa.Array) -> np.ndarray:
    """One 64-bit word per value: a number's own bits, a text's hash, `_NULL` for NULL."""
    if column.null_count == len(column):
        return np.full(len(column), _NULL, dtype=np.uint64)
    if pa.types.is_string(column.type) or pa.types.is_large_string(column.type):
        encoded = pc.dictionary_encode(column)
        texts = [hash(text) for text in encoded.dictionary.to_pylist()]
        words = np.array([*texts, 0], dtype=np.int64).view(np.uint64)
        words[-1] = _NULL
        indices = encoded.indices.fill_null(len(texts)).to_numpy()
        return words[indices]
    if pa.types.is_floating(column.type):
        bits = column.fill_null(0.0).to_numpy().view(np.uint64)
    else:  # integers and timestamps
        bits = column.cast(pa.int64()).fill_null(0).to_numpy().view(np.uint64)
    if column.null_count:
        bits = np.where(column.is_null().to_numpy(zero_copy_only=False), _NULL, bits)
    return bits
