#!/usr/bin/env bash
# One PostgreSQL server, one database per service: services never share tables.
# POSTGRES_USER owns the databases and their tables and runs the migrations (the
# `migrate` job); each service connects as a role of its own, <service>_service, which
# migrating grants what the service needs and no more (shared.db.grant_runtime_privileges):
# it cannot alter the schema nor change the audit trail.
# Run by the image on a new data volume; safe to run again (what exists is kept, the
# roles' passwords are set anew), e.g. to upgrade a deployment made before the roles:
#   docker compose exec postgres /docker-entrypoint-initdb.d/10-databases.sh
set -euo pipefail
for service in ingest metrics sharing; do
    password="${service^^}_DB_PASSWORD"
    psql --set ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
        --set service="$service" --set role="${service}_service" \
        --set password="${!password}" <<'SQL'
SELECT format('CREATE DATABASE %I', :'service')
WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = :'service') \gexec
SELECT format('CREATE ROLE %I LOGIN', :'role')
WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = :'role') \gexec
ALTER ROLE :"role" LOGIN PASSWORD :'password';
SQL
done
