"""Which executor runs the steps: the code location's in-process one (definitions.py), or
dagster-celery's on a shared broker.

`TAXI_EXECUTOR=celery` makes the Celery executor the code location's default, so UI backfills,
schedules and `dagster job execute` all hand their steps to Celery workers; unset, nothing
changes. dagster-celery comes with the `scale` extra and is imported only when asked for.
"""

import os
from pathlib import Path
from typing import Any

import dagster as dg
import yaml

from taxi_assets.mechanics.errors import TaxiError
from taxi_assets.mechanics.settings import setting

DEFAULT_CELERY_BROKER = "pyamqp://guest@127.0.0.1:5672//"
DEFAULT_CELERY_CONFIG = "celery.yaml"


def default_executor() -> dg.ExecutorDefinition | None:
    """The executor TAXI_EXECUTOR names; None keeps the definitions' own (in-process) one.

    Read when the definitions load, unlike every other setting: the default executor is part
    of the definitions themselves, so it cannot wait for a run to start.
    """
    choice = (os.environ.get("TAXI_EXECUTOR") or "").strip().lower()
    if choice in ("", "in_process"):
        return None
    if choice == "celery":
        config = setting(None, "TAXI_CELERY_CONFIG", DEFAULT_CELERY_CONFIG)
        return celery_executor(Path(config or DEFAULT_CELERY_CONFIG))
    raise TaxiError(
        f"TAXI_EXECUTOR={choice!r} is not supported: use celery, or leave it unset for the "
        "in-process executor"
    )


def celery_executor(config_file: Path) -> dg.ExecutorDefinition:
    """dagster-celery's executor with the config the workers were started with."""
    try:
        from dagster_celery import celery_executor as stock_celery_executor
    except ImportError:
        raise TaxiError(
            "TAXI_EXECUTOR=celery needs the `scale` extra: pip install -e '.[scale]'"
        ) from None
    return stock_celery_executor.configured(_celery_config(config_file), name="celery")


def _celery_config(config_file: Path) -> dict[str, Any]:
    """`execution.config` of celery.yaml; an unset TAXI_CELERY_BROKER means the local RabbitMQ."""
    try:
        config = dict(yaml.safe_load(config_file.read_text())["execution"]["config"])
    except (OSError, KeyError, TypeError, yaml.YAMLError) as exc:
        raise TaxiError(
            f"cannot read the Celery executor config from {config_file.resolve()} "
            f"(set TAXI_CELERY_CONFIG or run from the repository root): {exc}"
        ) from None
    if config.get("broker") == {"env": "TAXI_CELERY_BROKER"} and not os.environ.get(
        "TAXI_CELERY_BROKER"
    ):
        config["broker"] = DEFAULT_CELERY_BROKER
    return config
