"""The mechanics the Dagster definitions call, none of them importing Dagster: the mirror
(source), the lake and its streaming verifier, the warehouse writer and the checks' SQL."""
