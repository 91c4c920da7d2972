#!/usr/bin/env bash
# One PostgreSQL server, one database per service: services never share tables.
# POSTGRES_USER owns the databases and their tables and runs the migrations (the
# `migrate` job); each service connects as a role of its own, <service>_service, which
# migrating grants what the service needs and no more (shared.db.grant_runtime_privileges):
# it cannot alter the schema nor change the audit trail.
set -euo pipefail
for service in ingest metrics sharing; do
    password="${service^^}_DB_PASSWORD"
    psql --set ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
        --set service="$service" --set role="${service}_service" \
        --set password="${!password}" <<'SQL'
CREATE DATABASE :"service";
CREATE ROLE :"role" LOGIN PASSWORD :'password';
SQL
done
