"""`python -m taxi_assets.report`, the command users type; the tool is taxi_assets.cli.report."""

from taxi_assets.cli.report import main

if __name__ == "__main__":
    main()
