"""With no TAXI_PG_URL, the project runs on its embedded Postgres in a local folder."""

from pathlib import Path

import dagster as dg
import pytest

from taxi_assets.resources import DataLake, TaxiSource, WarehouseResource
from tests.support.mirror_months import MONTH_ROWS
from tests.support.trips import raw_csv, yellow_taxi

pytestmark = pytest.mark.embedded


def test_a_month_loads_into_the_embedded_server(
    mirror_url: str, tmp_path: Path, embedded_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TAXI_PG_EMBEDDED_DIR", str(embedded_dir))
    postgres = WarehouseResource()  # nothing configured: the embedded default
    resources = {
        "source": TaxiSource(base_url=mirror_url),
        "lake": DataLake(root=str(tmp_path / "lake")),
        "warehouse": postgres,
    }
    dg.materialize([raw_csv, yellow_taxi], partition_key="2021-01", resources=resources)
    assert "host=" in postgres.target_url() and str(embedded_dir) in postgres.target_url()
    with postgres.connect() as conn:
        count = conn.execute("SELECT count(1) FROM yellow_taxi_2021_01").fetchone()
    assert count == (MONTH_ROWS["2021-01"],)
    assert (embedded_dir / "PG_VERSION").is_file()


def test_the_embedded_server_is_set_up_for_bulk_loads(
    embedded_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TAXI_PG_EMBEDDED_DIR", str(embedded_dir))
    with WarehouseResource().connect() as conn:
        settings = dict(
            conn.execute(
                "SELECT name, CASE WHEN pending_restart THEN 'after restart' ELSE setting END "
                "FROM pg_settings WHERE name IN ('max_wal_size', 'wal_level')"
            ).fetchall()
        )
    assert settings == {"max_wal_size": "4096", "wal_level": "minimal"}  # MB; no restart left
