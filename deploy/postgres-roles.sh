#!/usr/bin/env bash
# Run once by the postgres image on a new data volume (docker-entrypoint-initdb.d), as its superuser.
# The owner owns the database and migrates it; the application role owns nothing and is granted row
# access by `manage.py migrate` (README: Database roles). Neither is a superuser.
set -euo pipefail
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname postgres \
  -v owner_password="$ATTENDANCE_OWNER_PASSWORD" -v app_password="$ATTENDANCE_APP_PASSWORD" <<'SQL'
CREATE ROLE attendance_owner LOGIN PASSWORD :'owner_password';
CREATE ROLE attendance_app LOGIN PASSWORD :'app_password';
CREATE DATABASE attendance OWNER attendance_owner;
SQL
