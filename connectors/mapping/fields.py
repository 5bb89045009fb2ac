"""Canonical fields of each entity a mapped file can feed, with their default types.

Records of a mapped file carry every field of their entity (null when no column maps to
it), so `raw.mapped__<entity>` rows have one shape whatever CRM the file came from.
"""

from __future__ import annotations

from typing import Literal

TypeName = Literal["str", "int", "float", "bool", "date", "datetime"]
TYPE_NAMES: tuple[str, ...] = ("str", "int", "float", "bool", "date", "datetime")

Entity = Literal["accounts", "contacts", "leads", "deals", "touchpoints"]
ENTITIES: tuple[str, ...] = ("accounts", "contacts", "leads", "deals", "touchpoints")

#: Fields every entity has: the id in the source system, its owner (a user name or email
#: as the source wrote it) and the source's own timestamps.
_COMMON: dict[str, str] = {
    "external_id": "str", "owner": "str", "created_at": "datetime", "updated_at": "datetime",
}

FIELDS: dict[str, dict[str, str]] = {
    "accounts": _COMMON | {
        "name": "str", "domain": "str", "website": "str", "industry": "str",
        "employees": "int", "annual_revenue": "float", "country": "str", "state": "str",
        "city": "str", "phone": "str", "parent": "str", "founded_year": "int",
        "description": "str", "is_customer": "bool",
    },
    "contacts": _COMMON | {
        "email": "str", "first_name": "str", "last_name": "str", "full_name": "str",
        "title": "str", "phone": "str", "mobile": "str", "account": "str", "country": "str",
        "state": "str", "city": "str", "lead_source": "str", "lifecycle_stage": "str",
        "do_not_email": "bool", "do_not_call": "bool", "marketing_consent": "bool",
    },
    "leads": _COMMON | {
        "email": "str", "first_name": "str", "last_name": "str", "full_name": "str",
        "phone": "str", "company": "str", "title": "str", "industry": "str",
        "employees": "int", "country": "str", "state": "str", "city": "str",
        "lead_source": "str", "campaign": "str", "utm_source": "str", "utm_medium": "str",
        "utm_campaign": "str", "status": "str", "rating": "str", "converted": "bool",
        "converted_at": "datetime", "do_not_email": "bool", "do_not_call": "bool",
    },
    "deals": _COMMON | {
        "name": "str", "account": "str", "contact": "str", "pipeline": "str", "stage": "str",
        "amount": "float", "currency": "str", "probability": "float", "product": "str",
        "quantity": "int", "deal_type": "str", "lead_source": "str", "engage_date": "date",
        "close_date": "date", "closed_at": "datetime", "is_won": "bool", "is_closed": "bool",
        "loss_reason": "str",
    },
    "touchpoints": _COMMON | {
        "occurred_at": "datetime", "event_type": "str", "channel": "str", "email": "str",
        "contact": "str", "account": "str", "session_id": "str", "anonymous_id": "str",
        "url": "str", "referrer": "str", "utm_source": "str", "utm_medium": "str",
        "utm_campaign": "str", "utm_content": "str", "utm_term": "str", "campaign": "str",
        "value": "float",
    },
}

#: Keys a mapped record has besides its entity's canonical fields.
RECORD_KEYS: tuple[str, ...] = ("source_key", "origin_system", "extra", "_warnings")
