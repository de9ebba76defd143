#!/usr/bin/env bash
# Creates Dagster's storage database and the warehouse database, each owned by its own user that
# cannot connect to the other. The postgres image runs this once, on an empty data volume
# (/docker-entrypoint-initdb.d); it also runs by hand against any server:
#   POSTGRES_USER=postgres POSTGRES_DB=postgres PGHOST=... DAGSTER_DB_PASSWORD=... \
#   WAREHOUSE_DB_PASSWORD=... bash deploy/postgres-init.sh
set -euo pipefail

: "${DAGSTER_DB_PASSWORD:?set DAGSTER_DB_PASSWORD}"
: "${WAREHOUSE_DB_PASSWORD:?set WAREHOUSE_DB_PASSWORD}"

psql -v ON_ERROR_STOP=1 --username "${POSTGRES_USER:-postgres}" --dbname "${POSTGRES_DB:-postgres}" \
  -v dagster_db="${DAGSTER_DB_NAME:-dagster}" -v dagster_user="${DAGSTER_DB_USER:-dagster}" \
  -v dagster_password="$DAGSTER_DB_PASSWORD" \
  -v warehouse_db="${WAREHOUSE_DB_NAME:-warehouse}" \
  -v warehouse_user="${WAREHOUSE_DB_USER:-warehouse}" \
  -v warehouse_password="$WAREHOUSE_DB_PASSWORD" <<'EOSQL'
CREATE ROLE :"dagster_user" LOGIN PASSWORD :'dagster_password';
CREATE DATABASE :"dagster_db" OWNER :"dagster_user";
REVOKE ALL ON DATABASE :"dagster_db" FROM PUBLIC;

CREATE ROLE :"warehouse_user" LOGIN PASSWORD :'warehouse_password';
CREATE DATABASE :"warehouse_db" OWNER :"warehouse_user";
REVOKE ALL ON DATABASE :"warehouse_db" FROM PUBLIC;
EOSQL
