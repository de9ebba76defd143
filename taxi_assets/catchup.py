"""`python -m taxi_assets.catchup`, the command users type; the tool is taxi_assets.cli.catchup."""

from taxi_assets.cli.catchup import main

if __name__ == "__main__":
    main()
