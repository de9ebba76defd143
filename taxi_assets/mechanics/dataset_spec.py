"""What a dataset is to taxi_assets: everything that differs between yellow, green and FHV.

The lake, the verifier, the warehouse writer, the checks, the metadata and the asset factory
take a `DatasetSpec`; none of them names a dataset. The declarations live in `datasets.py`.
Nothing here imports Dagster.
"""

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

from taxi_assets.mechanics.schema import MONTH_COLUMN, Column, header_difference
from taxi_assets.mechanics.writer import Table

RuleKind = Literal["outside_month", "negative", "before", "missing", "extreme", "duplicates"]


@dataclass(frozen=True)
class WarningRule:
    """A non-blocking check: warns when more than `threshold` of a month's rows are flagged.

    `kind` says what flags a row: `outside_month` (columns[0] outside the file's month),
    `negative` (columns[0] < 0), `before` (columns[0] < columns[1]), `missing` (columns[0] is
    NULL), `extreme` (any numeric column beyond ±1,000,000: absurd, yet a valid numeric) or
    `duplicates` (extra copies of identical rows).
    """

    name: str
    kind: RuleKind
    columns: tuple[str, ...]
    threshold: float
    description: str


@dataclass(frozen=True)
class CourseSpan:
    """The months of a dataset the course's analytics module loads, and its exact row total."""

    first_month: str
    last_month: str
    rows: int


@dataclass(frozen=True)
class DatasetSpec:
    """One dataset of the mirror's release tree, `{base}/{name}/{name}_tripdata_YYYY-MM.csv.gz`.

    `columns` are the warehouse columns in file order, named like the source header;
    `header_variants` are the headers accepted in the files, each mapped position by position
    onto `columns` (a variant may spell a column differently, never reorder or drop one).
    """

    name: str
    title: str
    columns: tuple[Column, ...]
    table: str
    raw_asset: str
    warnings: tuple[WarningRule, ...]
    first_month: str = "2019-01"
    last_month: str = "2021-07"
    header_variants: tuple[tuple[str, ...], ...] = field(default=())
    # The first month each later header variant appears in the mirror's files (one per variant
    # after the first): the generator writes each month with its own header.
    header_variant_starts: tuple[str, ...] = ()
    # The roles the marts and the generator need, by column name (pickup, drop-off, zone).
    pickup_column: str = ""
    dropoff_column: str = ""
    pickup_zone_column: str = ""
    # Data rows of the mirror's real files where known (docs/data.md), month -> rows.
    published_rows: tuple[tuple[str, int], ...] = ()
    course: CourseSpan | None = None
    # Disk per data row, for estimates before a load: in the lake (gzip) and in Postgres.
    lake_bytes_per_row: int = 25
    table_bytes_per_row: int = 160

    def __post_init__(self) -> None:
        if not self.header_variants:
            object.__setattr__(self, "header_variants", (tuple(c.name for c in self.columns),))
        for variant in self.header_variants:
            if len(variant) != len(self.columns):
                raise ValueError(f"{self.name}: header variant {variant} has the wrong length")
        if len(self.header_variant_starts) != len(self.header_variants) - 1:
            raise ValueError(f"{self.name}: give the first month of each later header variant")
        names = {c.name for c in self.columns}
        for role in (self.pickup_column, self.dropoff_column, self.pickup_zone_column):
            if role and role not in names:
                raise ValueError(f"{self.name}: {role!r} is not one of its columns")

    @property
    def header(self) -> tuple[str, ...]:
        """The first accepted header: the columns' own names, as the files spell them."""
        return self.header_variants[0]

    def header_for(self, month: str) -> tuple[str, ...]:
        """The header the mirror's file of `month` carries (`YYYY-MM` keys sort as months)."""
        later = [i + 1 for i, start in enumerate(self.header_variant_starts) if month >= start]
        return self.header_variants[later[-1] if later else 0]

    def published_rows_in(self, month: str) -> int | None:
        """The data rows of the mirror's real file for `month`, when known."""
        return dict(self.published_rows).get(month)

    @property
    def parent_table(self) -> Table:
        """The dataset's parent table, LIST-partitioned on the file's month."""
        return Table(self.table, self.warehouse_columns, partitioned_by=MONTH_COLUMN.name)

    @property
    def key_columns(self) -> tuple[str, ...]:
        """The columns a row cannot lack (NOT NULL): a month missing one is refused."""
        return tuple(c.name for c in self.columns if not c.nullable)

    @property
    def warehouse_columns(self) -> tuple[Column, ...]:
        """The table's columns: the file's, then the month it came from."""
        return (*self.columns, MONTH_COLUMN)

    @property
    def job_name(self) -> str:
        return f"{self.table}_job"

    def relative_path(self, month: dt.date) -> str:
        """The file's path under the mirror's base URL, and under the lake's root."""
        return f"{self.name}/{self.name}_tripdata_{month:%Y-%m}.csv.gz"

    def child_table(self, month: dt.date) -> str:
        """The month's own table, `<table>_YYYY_MM` (the lesson's names for yellow)."""
        return f"{self.table}_{month:%Y_%m}"

    def header_difference(self, found: Sequence[str]) -> str | None:
        """None when `found` is an accepted header; else how it differs from the nearest one."""
        if tuple(found) in self.header_variants:
            return None
        nearest = min(self.header_variants, key=lambda v: len(set(v) ^ set(found)))
        return header_difference(nearest, found)
