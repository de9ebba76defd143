"""The course's warehouse set at realistic month sizes, scaled, and the generator that writes it.

Yellow and green 2019-01..2020-12 and FHV 2019-01..2019-12: 109,047,518 + 7,778,101 +
43,244,696 = 160,070,315 data rows (docs/data.md). Month sizes follow the published files:
yellow's and FHV's add up exactly to the course's totals; green's recalled figures were 4,667
rows over its total, taken off 2019-01 so the total is exact. The shape is what matters for a
benchmark: FHV 2019-01 alone is 23 million rows, yellow 2019 months hold 6-8 million, and 2020
after March collapses to a few hundred thousand.
"""

import datetime as dt
from collections.abc import Callable
from pathlib import Path

from taxi_assets.datasets import DATASETS
from taxi_assets.mechanics.dataset_spec import DatasetSpec
from taxi_testkit.generate import write_month

_YELLOW = (
    [7_667_792, 7_019_375, 7_832_545, 7_433_139, 7_565_261, 6_941_024]
    + [6_310_419, 6_073_357, 6_567_788, 7_213_891, 6_878_111, 6_896_317]
    + [6_405_008, 6_299_354, 3_007_292, 237_993, 348_371, 549_760]
    + [800_412, 1_007_284, 1_341_012, 1_681_131, 1_508_985, 1_461_897]
)
_GREEN = (
    [626_251, 575_685, 601_102, 514_392, 504_887, 471_052]
    + [470_743, 449_695, 449_063, 476_386, 449_500, 455_294]
    + [447_770, 398_632, 223_406, 35_612, 57_360, 63_109]
    + [72_257, 81_063, 87_987, 95_120, 88_605, 83_130]
)
_FHV = [23_143_222, 1_707_649, 1_475_564, 1_937_844, 2_073_045, 2_009_886]
_FHV += [1_947_739, 1_880_407, 1_248_514, 1_897_493, 1_879_137, 2_044_196]
MIN_ROWS = 100  # the smallest month written at any scale

# The one seam for the generator: dataset -> writer of `<mirror>/<kind>/<kind>_tripdata_M.csv.gz`.
Writer = Callable[[str, int, Path], Path]


def _writer(spec: DatasetSpec) -> Writer:
    return lambda month, rows, mirror: write_month(month, rows, mirror, spec=spec)


WRITERS: dict[str, Writer] = {spec.name: _writer(spec) for spec in DATASETS}


def _months(first: str, count: int) -> list[str]:
    start = dt.date.fromisoformat(f"{first}-01")
    return [
        f"{start.year + (start.month - 1 + i) // 12}-{(start.month - 1 + i) % 12 + 1:02d}"
        for i in range(count)
    ]


FULL_SIZES: dict[str, dict[str, int]] = {
    "yellow": dict(zip(_months("2019-01", 24), _YELLOW, strict=True)),
    "green": dict(zip(_months("2019-01", 24), _GREEN, strict=True)),
    "fhv": dict(zip(_months("2019-01", 12), _FHV, strict=True)),
}


# The second target: three full-size 2021 months of yellow in one ranged run.
QUARTER_SIZES = {"yellow": {"2021-01": 1_369_765, "2021-02": 1_371_708, "2021-03": 1_925_152}}


def scaled_sizes(
    scale: float, datasets: list[str], full: dict[str, dict[str, int]] = FULL_SIZES
) -> dict[str, dict[str, int]]:
    """Each dataset's month sizes times `scale` (at least MIN_ROWS a month)."""
    return {
        name: {m: max(MIN_ROWS, round(rows * scale)) for m, rows in full[name].items()}
        for name in datasets
        if name in full
    }


def write_set(sizes: dict[str, dict[str, int]], mirror: Path) -> dict[str, list[Path]]:
    """Write every month of every dataset into the mirror's release tree, keeping a month a
    previous run wrote there with the same rows (scale 1.0 takes about 20 minutes to write)."""
    return {
        name: [_written(name, month, rows, mirror) for month, rows in months.items()]
        for name, months in sizes.items()
    }


def _written(name: str, month: str, rows: int, mirror: Path) -> Path:
    """The month's file; its `.rows` marker, written last, says a complete one is there."""
    path = mirror / name / f"{name}_tripdata_{month}.csv.gz"
    marker = path.with_name(path.name + ".rows")
    if marker.exists() and marker.read_text() == str(rows):
        return path
    written = WRITERS[name](month, rows, mirror)
    assert written == path, f"the generator wrote {written}, not {path}"
    marker.write_text(str(rows))
    return path
