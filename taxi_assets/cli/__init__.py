"""The command-line tools (`python -m taxi_assets.course`, `.report`, `.psql`, `.catchup`,
`.dbt_cli`): thin shells over the mechanics and the Dagster instance."""
