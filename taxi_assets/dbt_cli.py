"""`python -m taxi_assets.dbt_cli`, the command users type; the tool is taxi_assets.cli.dbt_cli."""

from taxi_assets.cli.dbt_cli import main

if __name__ == "__main__":
    main()
