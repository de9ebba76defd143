"""What a dataset is to taxi_assets: everything that differs between yellow, green and FHV.

The lake, the verifier, the warehouse writer, the checks, the metadata and the asset factory
take a `DatasetSpec`; none of them names a dataset. The declarations live in `datasets.py`.
Nothing here imports Dagster.
"""

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

from taxi_assets.mechanics.errors import TaxiError
from taxi_assets.mechanics.schema import MONTH_COLUMN, Column, header_difference
from taxi_assets.mechanics.writer import Table

MIRROR, TLC = "mirror", "tlc"
"""The two sources of a month: the mirror's gzip CSV, the TLC's own Parquet file."""

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
class MonthFile:
    """Where one month of a dataset comes from: its source, its path under that source's base
    URL, and its path under the lake's root."""

    source: str
    url_path: str
    lake_path: str

    @property
    def parquet(self) -> bool:
        return self.source == TLC


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
    # Partition bounds; no last month: the latest month the TLC can have published.
    first_month: str = "2019-01"
    last_month: str | None = None
    # The months the mirror has as CSV (None: it has none); every other month is the TLC's.
    mirror_months: tuple[str, str] | None = ("2019-01", "2021-07")
    # The first month of the TLC's layout this declaration describes (TAXI_FIRST_MONTH's
    # floor), and why earlier files, if the TLC has any, are refused.
    earliest_month: str = "2019-01"
    older_layout: str = ""
    # Columns the mirror's CSVs lack, after `columns` and the month (each with its `since`).
    later_columns: tuple[Column, ...] = ()
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
        if any(c.since is None or c.nullable is False for c in self.later_columns):
            raise ValueError(f"{self.name}: a later column is nullable and gives its `since`")
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
        """The table's columns: the CSV's, the month it came from, then the later ones (added
        to an existing parent by ALTER TABLE, they land after the month there too)."""
        return (*self.columns, MONTH_COLUMN, *self.later_columns)

    @property
    def parquet_columns(self) -> tuple[Column, ...]:
        """The columns a Parquet month fills, in the order its rows are written to COPY."""
        return (*self.columns, *self.later_columns)

    def parquet_names(self, column: Column) -> tuple[str, ...]:
        """Every spelling of `column` a file may use: its own, its aliases, the CSV variants'."""
        names = [column.name, *column.aliases]
        if column in self.columns:
            position = self.columns.index(column)
            names += [variant[position] for variant in self.header_variants]
        return tuple(dict.fromkeys(names))

    def month_file(self, month: dt.date, tlc_every_month: bool = False) -> MonthFile:
        """The month's source: the mirror's CSV inside `mirror_months` (unless the TLC is
        taken for every month), else the TLC's Parquet file; a month before the layout this
        declaration describes is refused."""
        key = f"{month:%Y-%m}"
        if key < self.earliest_month:
            raise TaxiError(
                f"{self.name} {key}: taxi_assets loads {self.title.lower()} from "
                f"{self.earliest_month} on; {self.older_layout or 'the TLC has no earlier file'}"
            )
        in_mirror = self.mirror_months and self.mirror_months[0] <= key <= self.mirror_months[1]
        if in_mirror and not tlc_every_month:
            return MonthFile(MIRROR, self.relative_path(month), self.relative_path(month))
        name = f"{self.name}_tripdata_{key}.parquet"
        return MonthFile(TLC, name, f"{self.name}/{name}")

    @property
    def job_name(self) -> str:
        return f"{self.table}_job"

    def relative_path(self, month: dt.date) -> str:
        """The CSV's path under the mirror's base URL, and under the lake's root."""
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
