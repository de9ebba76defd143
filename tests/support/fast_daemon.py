"""`dagster-daemon` for tests, with a 2-second backfill loop instead of the stock 30 seconds.

The stock backfill daemon sleeps `dagster._daemon.controller.DEFAULT_DAEMON_INTERVAL_SECONDS`
(30 s, a constant, no instance setting) between iterations, and a backfill needs several
iterations (submit, notice the run finished or a cancel, mark it done): every backfill test
would spend minutes waiting on that clock. Everything else is the stock daemon and its CLI.

    python -m tests.support.fast_daemon run -m taxi_assets
"""

import sys

from dagster._daemon import cli, controller

LOOP_SECONDS = 2

if __name__ == "__main__":
    controller.DEFAULT_DAEMON_INTERVAL_SECONDS = LOOP_SECONDS
    sys.exit(cli.main())
