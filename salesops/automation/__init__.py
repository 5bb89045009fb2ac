"""Background work the platform does on its own: reminders and escalations to users,
campaign sends to contacts, and the engagement they bring back. Plain functions over the
database and an SMTP `Mailer`; orchestration/defs/automations.py schedules them."""
