#!/bin/bash
# initdb hook of the postgres image: create the gateway's least-privilege role.
set -euo pipefail
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
  -v gateway_password="$GATEWAY_DB_PASSWORD" \
  -f /spendstream/gateway-role.sql
