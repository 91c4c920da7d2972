-- One PostgreSQL server, one database per service: services never share tables.
CREATE DATABASE ingest;
CREATE DATABASE metrics;
CREATE DATABASE sharing;
