"""The layout's promises: mechanics without Dagster, loads without dbt, datasets declared once."""

import ast
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

from taxi_assets.datasets import DATASETS
from tests.support.imports import modules_loaded_by

REPO = Path(__file__).resolve().parents[1]
DATASET_WORDS = {spec.name for spec in DATASETS}


def test_no_import_of_dagster_is_reachable_from_the_mechanics() -> None:
    mechanics = sorted(p.stem for p in (REPO / "taxi_assets" / "mechanics").glob("*.py"))
    statement = "; ".join(f"import taxi_assets.mechanics.{name}" for name in mechanics)
    loaded = modules_loaded_by(f"{statement}; import taxi_assets.datasets")
    assert "psycopg" in loaded and "taxi_assets" in loaded
    assert not {"dagster", "dagster_dbt", "dbt"} & loaded


def test_the_load_location_imports_no_dbt_and_the_analytics_location_does() -> None:
    loads = modules_loaded_by("from taxi_assets import defs; defs.resolve_asset_graph()")
    assert "dagster" in loads and not {"dbt", "dagster_dbt"} & loads
    analytics = modules_loaded_by("from taxi_assets.analytics import defs")
    assert {"dagster_dbt", "dbt"} <= analytics


def _words_in_code(path: Path) -> set[str]:
    """The words of the module's names and string values as code spells a dataset (`yellow`,
    `YELLOW`, `yellow_taxi`), docstrings left out; a zone's `Yellow Zone` is no dataset."""
    tree = ast.parse(path.read_text())
    docstrings = {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)
        and node.body
        and isinstance(node.body[0], ast.Expr)
        and isinstance(node.body[0].value, ast.Constant)
    }
    texts: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            texts.append(node.id)
        elif isinstance(node, ast.Attribute):
            texts.append(node.attr)
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            texts.extend([] if id(node) in docstrings else [node.value])
    words = (word for text in texts for word in re.findall(r"[A-Za-z]+", text))
    return {word.lower() for word in words if word.islower() or word.isupper()}


def test_no_module_outside_the_declarations_names_a_dataset() -> None:
    packages = [REPO / "taxi_assets", REPO / "taxi_testkit"]
    naming = {
        str(path.relative_to(REPO)): sorted(_words_in_code(path) & DATASET_WORDS)
        for package in packages
        for path in package.rglob("*.py")
        if path != REPO / "taxi_assets" / "datasets.py"
    }
    assert {path: words for path, words in naming.items() if words} == {}


def test_a_checkout_with_no_prepared_manifest_loads_the_analytics_location(
    tmp_path: Path,
) -> None:
    """As after `pip install -e .` alone: no taxi_dbt/target, the venv not on PATH."""
    project = tmp_path / "taxi_dbt"
    shutil.copytree(REPO / "taxi_dbt", project, ignore=shutil.ignore_patterns("target", "logs"))
    env = {**os.environ, "TAXI_DBT_PROJECT_DIR": str(project), "PATH": "/usr/bin:/bin"}
    dagster = str(Path(sys.executable).with_name("dagster"))
    command = [dagster, "definitions", "validate", "-m", "taxi_assets.analytics"]
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    assert (project / "target" / "manifest.json").is_file()


def test_each_dataset_has_exactly_one_taxi_job() -> None:
    from taxi_assets import defs

    jobs = {job.name for job in defs.jobs or [] if job.name.endswith("_taxi_job")}
    assert jobs == {f"{spec.name}_taxi_job" for spec in DATASETS}


def imported_modules(path: Path) -> set[str]:
    """The modules a Python file imports, by name (`from x import y` gives x and x.y)."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            names |= {node.module, *(f"{node.module}.{alias.name}" for alias in node.names)}
    return names


def test_no_module_imports_a_conftest() -> None:
    """Fixtures reach tests through pytest; what tests import lives in tests/support/."""
    files = [
        p for folder in ("tests", "bench", "taxi_testkit") for p in (REPO / folder).rglob("*.py")
    ]
    importers = {
        str(path.relative_to(REPO)): sorted(n for n in imported_modules(path) if "conftest" in n)
        for path in files
    }
    assert {path: names for path, names in importers.items() if names} == {}
    assert len(files) > 60  # the walk found the suite
