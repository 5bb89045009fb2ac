"""Domain services: the business rules, written once, called by the API and by Dagster.

Each module takes a SQLAlchemy `Session` and works inside the caller's transaction (the
caller commits); rule violations raise the typed exceptions of `salesops.domain.errors`.

- `users`: roles, creating users, the `Principal` a request acts for
- `auth`: checking passwords, recording login attempts, lockout
- `leads`: capturing web-form leads (contact matching, consent, idempotency, events), and
  working them: update, qualify, disqualify, convert into a deal
- `records`: what every record module shares (scoped reads, cursor lists, audited writes,
  optimistic locking, trash); `audit`: the audit log and the `Actor` writes are made by
- `contacts` (and accounts), `deals` (pipelines, stage rules, stage-entry tasks,
  contracts), `tasks`
- `api_keys`: keys for the integration role
- `assignment`: lead assignment rules (round robin, territory, load balanced with caps)
"""
