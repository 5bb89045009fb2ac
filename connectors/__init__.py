"""Connectors: readers of the outside world. Each turns a source (a Salesforce export, HubSpot
API pages, mailboxes, web-form and touchpoint logs, any CRM export through a YAML mapping)
into `RecordBatch`es of plain records plus the rows it could not read, with their reasons.

No database writes and no Dagster here: `salesops.loading` writes, `orchestration` schedules.
"""
