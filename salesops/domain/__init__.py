"""Domain services: the business rules, written once, called by the API and by Dagster.

Each module takes a SQLAlchemy `Session` and works inside the caller's transaction (the
caller commits); rule violations raise the typed exceptions of `salesops.domain.errors`.

- `users`: roles, creating users, the `Principal` a request acts for
- `auth`: checking passwords, recording login attempts, lockout
- `leads`: capturing web-form leads (contact matching, consent, idempotency, events)
"""
