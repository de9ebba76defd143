"""Print the warehouse's month tables and their row counts, like the lesson's `\\dt` + `count(1)`.

    python -m taxi_assets.report
uses the same settings as the pipeline (TAXI_PG_URL, else the embedded server).
"""

from psycopg import sql

from taxi_assets.datasets import DATASETS, LESSON_DATASET
from taxi_assets.resources import WarehouseResource

_CHILDREN = """
SELECT c.relname FROM pg_inherits i
JOIN pg_class c ON c.oid = i.inhrelid
JOIN pg_class p ON p.oid = i.inhparent
JOIN pg_namespace n ON n.oid = p.relnamespace
WHERE p.relname = %s AND n.nspname = %s
ORDER BY c.relname
"""


def month_counts(
    warehouse: WarehouseResource, parent: str = LESSON_DATASET.table
) -> list[tuple[str, int]]:
    """(child table, row count) for every month of `parent` in the warehouse, oldest first."""
    schema = warehouse.warehouse_schema
    counts = []
    with warehouse.connect() as conn:
        for (table,) in conn.execute(_CHILDREN, (parent, schema)).fetchall():
            query = sql.SQL("SELECT count(1) FROM {}").format(sql.Identifier(schema, table))
            row = conn.execute(query).fetchone()
            counts.append((table, row[0] if row else 0))
    return counts


def main() -> None:
    warehouse = WarehouseResource()
    counts = [row for spec in DATASETS for row in month_counts(warehouse, spec.table)]
    print(f"warehouse: {warehouse.display_url}  schema: {warehouse.warehouse_schema}")  # noqa: T201
    print(f"{'table':<24} {'count(1)':>12}")  # noqa: T201
    for table, rows in counts:
        print(f"{table:<24} {rows:>12,}")  # noqa: T201
    if not counts:
        raise SystemExit("no months loaded yet: run `make main` or materialize in the UI")


if __name__ == "__main__":
    main()
