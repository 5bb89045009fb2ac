"""Orchestration: the only package that knows Dagster. Assets, asset checks, jobs,
schedules, sensors and resources that wire connectors, dbt and ml together; definitions by
system under `orchestration/defs/<system>/`, gathered in `orchestration.definitions`."""
