#!/bin/sh
# One database and one owner per process: no service can read another's tables. Passwords come from .env.
set -e
for name in gateway intake eligibility calculation disbursement; do
  psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" <<SQL
CREATE USER $name WITH PASSWORD '$APP_DB_PASSWORD';
CREATE DATABASE $name OWNER $name;
SQL
done
