-- Roles for the Compose demo stack, run once by the postgres image on an empty data directory.
-- The service connects as `touchline`: it owns the `touchline` schema (it runs the migrations at
-- start) and is no superuser. Grafana connects as `grafana_reader`: read-only, on that schema only.
-- Demo passwords: this stack listens on a laptop. Production uses the Kubernetes Secret.
CREATE ROLE touchline LOGIN PASSWORD 'touchline';
CREATE ROLE grafana_reader LOGIN PASSWORD 'grafana';
GRANT CONNECT ON DATABASE touchline TO touchline, grafana_reader;
-- The service's migrations start with CREATE SCHEMA IF NOT EXISTS, which Postgres checks against
-- CREATE on the database even when the schema exists. Goes away with the separate migration role.
GRANT CREATE ON DATABASE touchline TO touchline;
CREATE SCHEMA touchline AUTHORIZATION touchline;
GRANT USAGE ON SCHEMA touchline TO grafana_reader;
-- Tables do not exist yet (the service creates them): grant on whatever `touchline` creates there.
ALTER DEFAULT PRIVILEGES FOR ROLE touchline IN SCHEMA touchline GRANT SELECT ON TABLES TO grafana_reader;
ALTER ROLE grafana_reader SET default_transaction_read_only = on;
ALTER ROLE grafana_reader SET statement_timeout = '10s';
