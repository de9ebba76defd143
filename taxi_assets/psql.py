"""`python -m taxi_assets.psql`, the command users type; the tool is taxi_assets.cli.psql."""

from taxi_assets.cli.psql import main

if __name__ == "__main__":
    main()
