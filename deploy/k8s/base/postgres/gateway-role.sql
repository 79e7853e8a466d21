-- The gateway's PostgreSQL role: it owns its schema and nothing else.
--
-- Run once (and again after any change; it is idempotent) as the database owner:
-- docker-compose runs it at initdb (deploy/compose/postgres/10-gateway-role.sh),
-- Kubernetes in the gateway-db-role Job. psql variables:
--   gateway_password  required; the gateway's DSN carries it
--   gateway_role      default spendstream_gateway
--   gateway_schema    default gateway (SPENDSTREAM_GATEWAY_PG_SCHEMA)
-- The role is no superuser, cannot create databases, roles or schemas, and may
-- only connect to this database (with session temporary tables) and use its own schema, where its migrations
-- create and alter the tables (so it owns them, and no other role's data).
\set ON_ERROR_STOP on
\if :{?gateway_role}
\else
  \set gateway_role spendstream_gateway
\endif
\if :{?gateway_schema}
\else
  \set gateway_schema gateway
\endif

SELECT format('CREATE ROLE %I LOGIN', :'gateway_role')
WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = :'gateway_role') \gexec
ALTER ROLE :"gateway_role" WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION
    NOBYPASSRLS INHERIT PASSWORD :'gateway_password';
-- Statements longer than this are a bug or an attack; the gateway's own limit is lower.
ALTER ROLE :"gateway_role" SET statement_timeout = '60s';

SELECT format('REVOKE ALL ON DATABASE %I FROM PUBLIC', current_database()) \gexec
-- TEMPORARY: the store COPYs each batch into session-private staging tables
-- (services/gateway/repositories/ingest.py); they hold only its own rows and vanish with the session.
SELECT format('GRANT CONNECT, TEMPORARY ON DATABASE %I TO %I', current_database(), :'gateway_role') \gexec
REVOKE CREATE ON SCHEMA public FROM PUBLIC;

CREATE SCHEMA IF NOT EXISTS :"gateway_schema" AUTHORIZATION :"gateway_role";
ALTER SCHEMA :"gateway_schema" OWNER TO :"gateway_role";
ALTER ROLE :"gateway_role" SET search_path = :"gateway_schema";
