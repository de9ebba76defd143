# One image for the whole deployment: the user-code gRPC server (the default command), and the
# analytics code server, the webserver and the daemon (docker-compose.yaml overrides the command). Runs execute inside the
# user-code container, launched through its gRPC server.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    DAGSTER_HOME=/opt/dagster/home

RUN useradd --create-home --uid 1000 dagster \
    && mkdir -p /opt/dagster/app /opt/dagster/lake /opt/dagster/home/storage \
    && chown -R dagster /opt/dagster

WORKDIR /opt/dagster/app
COPY pyproject.toml README.md constraints.txt ./
COPY taxi_assets ./taxi_assets
# EXTRAS="[scale]" adds dagster-celery, s3fs and universal-pathlib (deploy/compose.scale.yaml).
ARG EXTRAS=""
RUN pip install --no-cache-dir -c constraints.txt ".${EXTRAS}"
# The dbt project (docs/dbt.md), parsed at build time so no container parses it at start-up;
# owned by the runtime user, who writes dbt's target/ (artifacts of `dbt_cli` runs).
COPY --chown=dagster taxi_dbt ./taxi_dbt
ENV TAXI_DBT_PROJECT_DIR=/opt/dagster/app/taxi_dbt
RUN dagster-dbt project prepare-and-package --file taxi_assets/analytics/project.py \
    && chown -R dagster taxi_dbt
# The Celery executor config that scale-out workers and runs share (docs/scale-out.md).
COPY celery.yaml ./

# The deployment's instance and workspace; settings and secrets come from the environment.
COPY deploy/dagster.yaml deploy/workspace.yaml /opt/dagster/home/

USER dagster
EXPOSE 4000
CMD ["dagster", "code-server", "start", "-h", "0.0.0.0", "-p", "4000", \
     "-m", "taxi_assets", "--location-name", "taxi_assets"]
