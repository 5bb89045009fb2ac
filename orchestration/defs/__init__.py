"""Definitions by system: ingest, merge, dbt, ml."""
