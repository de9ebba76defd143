"""Generate the taxi zone lookup like the mirror's `misc/taxi_zone_lookup.csv` (docs/data.md).

265 rows, header `"LocationID","Borough","Zone","service_zone"`, text fields quoted, the
boroughs in the real file's proportions, JFK (132) and LaGuardia (138) as `Airports`, EWR as
zone 1, and the two `Unknown` zones 264 (`NV`) and 265 (`NA`, which pandas reads as NaN unless
told otherwise).
"""

from pathlib import Path

import numpy as np

ZONE_COUNT = 265
HEADER = '"LocationID","Borough","Zone","service_zone"'
BOROUGH_SIZES = {"Manhattan": 69, "Queens": 69, "Brooklyn": 61, "Bronx": 43, "Staten Island": 20}
_FIXED = {
    1: ("EWR", "Newark Airport", "EWR"),
    132: ("Queens", "JFK Airport", "Airports"),
    138: ("Queens", "LaGuardia Airport", "Airports"),
    264: ("Unknown", "NV", "N/A"),
    265: ("Unknown", "NA", "N/A"),
}
# The first zone of each borough takes a real name (slashes, apostrophes); the rest are numbered.
_FIRST_NAMES = {
    "Manhattan": "Governor's Island/Ellis Island/Liberty Island",
    "Queens": "Astoria",
    "Brooklyn": "Bay Ridge",
    "Bronx": "Allerton/Pelham Gardens",
    "Staten Island": "Arden Heights",
}


def zone_rows(seed: int = 42) -> list[tuple[int, str, str, str]]:
    """(LocationID, Borough, Zone, service_zone) for every zone, deterministic by seed."""
    free = [i for i in range(1, ZONE_COUNT + 1) if i not in _FIXED]
    boroughs = [b for b, n in BOROUGH_SIZES.items() for _ in range(n)]
    boroughs.remove("Queens")  # JFK and LaGuardia are Queens zones among the fixed ones
    boroughs.remove("Queens")
    order = np.random.default_rng(seed).permutation(len(free))
    rows = {i: (i, *fixed) for i, fixed in _FIXED.items()}
    named: set[str] = set()
    for position, location in zip(order, free, strict=True):
        borough = boroughs[position]
        name = _FIRST_NAMES[borough] if borough not in named else f"{borough} zone {location}"
        named.add(borough)
        service = "Yellow Zone" if borough == "Manhattan" else "Boro Zone"
        rows[location] = (location, borough, name, service)
    return [rows[i] for i in sorted(rows)]


def write_zones(out_dir: Path, seed: int = 42) -> Path:
    """Write `<out_dir>/misc/taxi_zone_lookup.csv`."""
    path = out_dir / "misc" / "taxi_zone_lookup.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = [HEADER, *(f'{i},"{b}","{z}","{s}"' for i, b, z, s in zone_rows(seed))]
    path.write_text("\n".join(lines) + "\n")
    return path
