"""`python -m taxi_assets.course`, the command users type; the tool is taxi_assets.cli.course."""

from taxi_assets.cli.course import main

if __name__ == "__main__":
    main()
