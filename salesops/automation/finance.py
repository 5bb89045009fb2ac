"""A won deal becomes a contract and a customer, and is pushed to the financial system.

Consumes `deal.won` outbox events (aggregate id: the deal). For each, idempotently:

1. in one transaction: a draft contract for the deal (one per deal), the account marked a
   customer, the deal's contact moved to the `customer` lifecycle stage;
2. the customer and an invoice POSTed to the financial webhook (the contract below),
   signed, with an idempotency key; 5xx answers and timeouts are retried with a growing
   pause, a 4xx is permanent. The answer's `id` is kept as the contract's `external_ref`;
3. every push is recorded as an `app.integration_sync_runs` row, and the integration's
   status and last sync in `app.financial_integrations`.

Webhook contract (JSON, UTF-8):

    POST <SALESOPS_FINANCE_WEBHOOK_URL>
    Idempotency-Key: deal-<deal id>-won          (the same on every retry)
    X-Salesops-Timestamp: <unix seconds>
    X-Salesops-Signature: v1=<hex HMAC-SHA256(secret, "<timestamp>.<body>")>
    {"type": "deal.won", "deal_id": ..., "customer": {"account_id", "name", "domain",
     "country", "contact": {"name", "email"}}, "invoice": {"contract_id", "amount",
     "currency", "description", "issued_on"}}

    2xx {"id": "<the financial system's reference>"}
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import httpx
import sqlalchemy as sa
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from salesops import events
from salesops.errors import SalesopsError
from salesops.models import (
    Account,
    Contact,
    Contract,
    Deal,
    FinancialIntegration,
    IntegrationSyncRun,
)

WON_TOPIC = "deal.won"
INTEGRATION_NAME = "finance-webhook"


class FinanceSettings(BaseSettings):
    """SALESOPS_FINANCE_* from the environment or `.env`."""

    model_config = SettingsConfigDict(env_prefix="SALESOPS_FINANCE_", env_file=".env",
                                      extra="ignore")

    webhook_url: str | None = Field(None, description="Unset: won deals are not pushed.")
    webhook_secret: str = Field("", description="Shared secret the receiver checks the "
                                "signature with.")
    timeout_seconds: float = 10.0
    max_attempts: int = Field(4, ge=1)
    retry_backoff_seconds: float = 1.0
    payments_secret: str = Field("", description="Secret of the payment-status webhook in "
                                 "(unset: the webhook secret).")
    payments_tolerance_seconds: int = Field(300, ge=1, description="How old a signed "
                                            "timestamp may be (replay protection).")


class WebhookFailed(SalesopsError):
    """The financial system did not take the push; the event will be retried."""


def sign(secret: str, timestamp: int, body: bytes) -> str:
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"v1={mac.hexdigest()}"


def verify(secret: str, timestamp: str, body: bytes, signature: str, *,
           tolerance_seconds: int = 300, now: float | None = None) -> bool:
    """What a receiver does: the signature matches and the timestamp is recent."""
    try:
        ts = int(timestamp)
    except (TypeError, ValueError):
        return False
    if abs((now or time.time()) - ts) > tolerance_seconds:
        return False
    return hmac.compare_digest(sign(secret, ts, body), signature or "")


@dataclass(frozen=True)
class WonDeal:
    deal_id: int
    contract_id: int
    payload: dict[str, Any]


def record_win(session: Session, deal_id: int) -> WonDeal | None:
    """Contract, customer status and the push payload for a won deal (None if the deal is
    gone or not won). Safe to call again: nothing is created twice."""
    deal = session.get(Deal, deal_id)
    if deal is None or deal.deleted_at is not None or deal.is_won is not True:
        return None
    session.execute(insert(Contract).values(
        deal_id=deal.id, account_id=deal.account_id, value=deal.amount, currency=deal.currency,
        start_date=(deal.closed_at or datetime.now(UTC)).date(),
    ).on_conflict_do_nothing(index_elements=["deal_id"]))
    contract = session.scalars(sa.select(Contract).where(Contract.deal_id == deal.id)).one()
    account = session.get(Account, deal.account_id) if deal.account_id else None
    contact = session.get(Contact, deal.contact_id) if deal.contact_id else None
    if account is not None and not account.is_customer:
        session.execute(sa.update(Account).where(Account.id == account.id)
                        .values(is_customer=True, version=Account.version + 1)
                        .execution_options(synchronize_session=False))
    if contact is not None and contact.lifecycle_stage != "customer":
        session.execute(sa.update(Contact).where(Contact.id == contact.id)
                        .values(lifecycle_stage="customer", version=Contact.version + 1)
                        .execution_options(synchronize_session=False))
    name = " ".join(p for p in (contact.first_name, contact.last_name) if p) if contact else None
    payload = {
        "type": WON_TOPIC, "deal_id": deal.id,
        "customer": {"account_id": account.id if account else None,
                     "name": account.name if account else name,
                     "domain": account.domain if account else None,
                     "country": account.country if account else None,
                     "contact": {"name": name, "email": contact.email if contact else None}},
        "invoice": {"contract_id": contract.id,
                    "amount": None if deal.amount is None else str(deal.amount),
                    "currency": deal.currency, "description": deal.name,
                    "issued_on": date.today().isoformat()},
    }
    return WonDeal(deal.id, contract.id, payload)


def push(settings: FinanceSettings, won: WonDeal, client: httpx.Client) -> str:
    """POST the won deal; the financial system's reference. Raises WebhookFailed."""
    body = json.dumps(won.payload, separators=(",", ":"), sort_keys=True).encode()
    pause = settings.retry_backoff_seconds
    error = ""
    for attempt in range(1, settings.max_attempts + 1):
        ts = int(time.time())
        headers = {"Content-Type": "application/json",
                   "Idempotency-Key": f"deal-{won.deal_id}-won",
                   "X-Salesops-Timestamp": str(ts),
                   "X-Salesops-Signature": sign(settings.webhook_secret, ts, body)}
        try:
            response = client.post(settings.webhook_url, content=body, headers=headers,
                                   timeout=settings.timeout_seconds)
        except httpx.HTTPError as exc:
            error = f"{type(exc).__name__}: {exc}"
        else:
            if response.is_success:
                return str(response.json().get("id", ""))
            error = f"HTTP {response.status_code}: {response.text[:200]}"
            if response.status_code < 500 and response.status_code != 429:
                raise WebhookFailed(f"the financial system refused deal {won.deal_id}: "
                                    f"{error}")
        if attempt < settings.max_attempts:
            time.sleep(pause)
            pause *= 2
    raise WebhookFailed(f"the financial system did not answer for deal {won.deal_id} after "
                        f"{settings.max_attempts} tries: {error}")


def _record_run(engine: sa.Engine, status: str, pushed: int, errors: list[str]) -> None:
    with engine.begin() as conn:
        integration_id = conn.execute(insert(FinancialIntegration).values(
            name=INTEGRATION_NAME, provider="webhook", status=status,
            last_synced_at=sa.func.now()).on_conflict_do_update(
            index_elements=["name"], set_={"status": status, "last_synced_at": sa.func.now(),
                                           "updated_at": sa.func.now()})
            .returning(FinancialIntegration.id)).scalar_one()
        conn.execute(sa.insert(IntegrationSyncRun).values(
            kind="financial", integration_id=integration_id, direction="push", status=status,
            finished_at=sa.func.now(), records_out=pushed, errors=errors))


def process_won_deals(engine: sa.Engine, settings: FinanceSettings | None = None, *,
                      limit: int = 100) -> tuple[int, int]:
    """Handle waiting `deal.won` events; returns (done, failed). A failed push leaves its
    event to be retried by a later run (the outbox counts the attempts)."""
    settings = settings or FinanceSettings()
    errors: list[str] = []
    pushed = 0

    def handle(event: events.OutboxEvent) -> None:
        nonlocal pushed
        with Session(engine) as session, session.begin():
            won = record_win(session, int(event.aggregate_id))
        if won is None or not settings.webhook_url:
            return
        try:
            reference = push(settings, won, client)
        except WebhookFailed as exc:
            errors.append(str(exc))
            raise
        with engine.begin() as conn:
            conn.execute(sa.update(Contract).where(Contract.id == won.contract_id)
                         .values(external_ref=reference, status="sent",
                                 version=Contract.version + 1,
                                 updated_at=sa.func.now()))
        pushed += 1

    with httpx.Client() as client:
        done, failed = events.process(engine, [WON_TOPIC], handle, limit)
    if done or failed:
        status = "failed" if failed and not pushed else "partial" if failed else "succeeded"
        _record_run(engine, status, pushed, errors[:20])
    return done, failed
