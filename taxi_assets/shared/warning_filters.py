"""Silence the Dagster warnings our own definitions trigger on every start, and only those.

Each names a feature we use on purpose and have pinned (constraints.txt), so a user starting
the code location cannot act on it: `BackfillPolicy.single_run()` (a range of months in one
run, docs/ui.md) is beta, an `AssetCheckSpec` with a `partitions_def` (one check result per
month) is a preview, and source-code references (each asset's "View code" link in the UI) are
beta. Anything else Dagster warns about still shows.
"""

import warnings

import dagster as dg

UNDERSTOOD = (
    (
        dg.BetaWarning,
        r"Parameter `backfill_policy` of function `(multi_)?asset` is currently in beta",
    ),
    (dg.PreviewWarning, r"Specifying a partitions_def on an AssetCheckSpec is currently in"),
    (
        dg.BetaWarning,
        r"(Class `(CodeReferencesMetadataValue|LocalFileCodeReference)`|Function "
        r"`with_source_code_references`) is currently in beta",
    ),
)


def silence_understood_warnings() -> None:
    """Ignore exactly the warnings in UNDERSTOOD (category and message start)."""
    for category, message in UNDERSTOOD:
        warnings.filterwarnings("ignore", message=message, category=category)
