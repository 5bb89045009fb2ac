"""Engagement with campaign emails: opens, clicks and unsubscribes, recorded and fed back.

The API's tracking links call `record_engagement`, which stamps the delivery (the first
time is kept). Opens and clicks emit a `campaign.engagement` outbox event, which
`load_engagement` moves into `raw.touchpoints__events` (email_open, email_click), where
the marts already count email engagement. An unsubscribe opts the contact out and emits
`contact.unsubscribed` (for the CRM sync); it is not a touchpoint, so attribution never
credits it.
"""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from salesops import events
from salesops.domain.errors import NotFound
from salesops.loading import load_batch
from salesops.models import Campaign, CampaignDelivery, Contact

ENGAGEMENT_TOPIC = "campaign.engagement"
UNSUBSCRIBED_TOPIC = "contact.unsubscribed"

#: Touchpoint event types of the engagement loaded into raw (what the marts count).
EVENT_TYPES = {"open": "email_open", "click": "email_click"}


def record_engagement(session: Session, delivery_id: int, kind: str,
                      url: str | None = None) -> CampaignDelivery:
    """Stamp an open, click or unsubscribe on its delivery (first time kept) and emit it to
    the outbox, in the caller's transaction. An unsubscribe also opts the contact out."""
    delivery = session.get(CampaignDelivery, delivery_id)
    if delivery is None:
        raise NotFound("This link is not valid.", code="invalid_link")
    now = datetime.now(UTC)
    column = {"open": "opened_at", "click": "clicked_at", "unsubscribe": "unsubscribed_at"}[kind]
    if getattr(delivery, column) is None:
        setattr(delivery, column, now)
    if kind == "click" and delivery.opened_at is None:
        delivery.opened_at = now  # a click proves the open the pixel may have missed
    if kind == "unsubscribe":
        session.execute(sa.update(Contact).where(Contact.id == delivery.contact_id)
                        .values(email_opt_out=True, version=Contact.version + 1,
                                updated_at=sa.func.now())
                        .execution_options(synchronize_session=False))
    campaign_name = session.scalar(sa.select(Campaign.name)
                                   .where(Campaign.id == delivery.campaign_id))
    payload = {"occurred_at": now.isoformat(), "email": delivery.email,
               "campaign": campaign_name, "campaign_id": delivery.campaign_id,
               "contact_id": delivery.contact_id}
    if kind == "unsubscribe":
        events.emit(session, UNSUBSCRIBED_TOPIC, "contact", delivery.contact_id, payload)
    else:
        events.emit(session, ENGAGEMENT_TOPIC, "campaign_delivery", delivery.id,
                    {**payload, "event_type": EVENT_TYPES[kind], "page_url": url})
    return delivery


def load_engagement(engine: sa.Engine, limit: int = 5000) -> int:
    """Move waiting engagement events into raw.touchpoints__events as one load batch."""
    with events.claim(engine, [ENGAGEMENT_TOPIC], limit=limit) as batch:
        if not len(batch):
            return 0
        records = [{"source_key": f"tracking-{e.id}", "event_id": f"tracking-{e.id}",
                    "channel": "email", **e.payload,
                    "utm": {"source": "salesops", "medium": "email",
                            "campaign": e.payload.get("campaign")}} for e in batch]
        load_batch(engine, "touchpoints", "events", "tracking", records)
        for event in batch:
            batch.complete(event)
        return len(batch)
