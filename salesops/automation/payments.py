"""Payment-status updates from the financial system, taken in through a signed webhook.

The contract is in docs/finance-webhooks.md. In short: the body is JSON naming the
invoice (the reference the push of a won deal got back, kept as the contract's
`external_ref`, or our `contract_id`), its payment status and when it changed; the
headers carry an idempotency key, a timestamp and an HMAC-SHA256 signature over
"<timestamp>.<body>" with the shared secret.

- A missing or wrong signature, or a timestamp outside the tolerance (a replayed capture),
  is refused: logged, and audited as `webhook_rejected`, then `SignatureRejected`.
- An idempotency key seen before changes nothing: the first answer is given again (the
  same key with another body is a conflict).
- An update older than the one applied (`occurred_at` before the contract's
  `payment_updated_at`) is kept as received but not applied: deliveries may come out of
  order.
- Applied: the contract's payment fields, an audit entry, a `contract.payment_updated`
  outbox event, the integration's status and a pull sync run, in one transaction with the
  receipt.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any, Literal, NoReturn

import sqlalchemy as sa
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from salesops import events
from salesops.automation.finance import INTEGRATION_NAME, FinanceSettings, verify
from salesops.domain.errors import AuthenticationFailed, Conflict, InvalidInput, NotFound
from salesops.models import (
    AuditLog,
    Contract,
    FinancialIntegration,
    IntegrationSyncRun,
    WebhookReceipt,
)
from salesops.models.sales import PAYMENT_STATUSES

log = logging.getLogger(__name__)

SOURCE = "finance.payments"
TOPIC = "contract.payment_updated"
MAX_KEY_LENGTH = 200


class SignatureRejected(AuthenticationFailed):
    code = "bad_signature"
    default_message = ("The webhook's signature or timestamp is not valid: sign "
                       "'<timestamp>.<body>' with the shared secret, and send it at once.")


class PaymentUpdate(BaseModel):
    """The webhook's body."""

    model_config = ConfigDict(extra="ignore")

    type: Literal["invoice.payment_status"]
    invoice_id: str | None = Field(None, max_length=200,
                                   description="the financial system's reference")
    contract_id: int | None = Field(None, description="salesops' contract id")
    status: Literal[PAYMENT_STATUSES]  # type: ignore[valid-type]
    amount_paid: Decimal | None = Field(None, ge=0, max_digits=16, decimal_places=2)
    currency: str | None = Field(None, min_length=3, max_length=3)
    paid_at: datetime | None = None
    occurred_at: datetime

    @model_validator(mode="after")
    def _names_an_invoice(self) -> PaymentUpdate:
        if self.invoice_id is None and self.contract_id is None:
            raise ValueError("name the invoice: invoice_id or contract_id")
        if self.occurred_at.tzinfo is None:
            raise ValueError("occurred_at needs a time zone (e.g. 2026-11-26T10:00:00Z)")
        return self


@dataclass(frozen=True)
class Receipt:
    status: str  # applied, stale or duplicate
    contract_id: int
    payment_status: str

    def as_dict(self) -> dict[str, Any]:
        return {"status": self.status, "contract_id": self.contract_id,
                "payment_status": self.payment_status}


def _reject(engine: sa.Engine, reason: str, ip: str | None, request_id: str | None) -> NoReturn:
    log.warning("finance payments webhook rejected (%s) from %s, request %s", reason, ip,
                request_id)
    with engine.begin() as conn:
        conn.execute(sa.insert(AuditLog).values(
            user_id=None, action="webhook_rejected", entity="webhooks", entity_id=SOURCE,
            after={"reason": reason}, request_id=request_id, ip=ip))
    raise SignatureRejected()


def _parse(body: bytes) -> PaymentUpdate:
    try:
        return PaymentUpdate.model_validate_json(body)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'body'}: {e['msg']}"
                             for e in exc.errors()[:5])
        raise InvalidInput(f"The payment update is not valid ({problems}); see "
                           "docs/finance-webhooks.md for the contract.") from None
    except (InvalidOperation, ValueError) as exc:
        raise InvalidInput(f"The payment update is not valid JSON: {exc}") from None


def receive(engine: sa.Engine, headers: dict[str, str], body: bytes, *,
            settings: FinanceSettings | None = None, ip: str | None = None,
            request_id: str | None = None, now: float | None = None) -> Receipt:
    """Check, dedupe and apply one payment-status webhook (see the module docstring).
    `headers` are matched case-insensitively."""
    settings = settings or FinanceSettings()
    secret = settings.payments_secret or settings.webhook_secret
    h = {k.lower(): v for k, v in headers.items()}
    if not secret:
        raise InvalidInput("Payment webhooks are off: set SALESOPS_FINANCE_PAYMENTS_SECRET "
                           "(or SALESOPS_FINANCE_WEBHOOK_SECRET).", code="webhook_disabled")
    if not verify(secret, h.get("x-salesops-timestamp", ""), body,
                  h.get("x-salesops-signature", ""),
                  tolerance_seconds=settings.payments_tolerance_seconds, now=now):
        _reject(engine, "bad signature or stale timestamp", ip, request_id)
    key = (h.get("idempotency-key") or "").strip()
    if not key or len(key) > MAX_KEY_LENGTH:
        raise InvalidInput(f"Send an Idempotency-Key header (1 to {MAX_KEY_LENGTH} "
                           "characters), the same on every retry.", field="Idempotency-Key")
    update = _parse(body)
    digest = hashlib.sha256(body).hexdigest()
    with Session(engine) as session, session.begin():
        taken = session.execute(insert(WebhookReceipt).values(
            source=SOURCE, idempotency_key=key, body_sha256=digest)
            .on_conflict_do_nothing(index_elements=["source", "idempotency_key"])
            .returning(WebhookReceipt.id)).scalar()
        if taken is None:
            return _replay(session, key, digest)
        receipt = _apply(session, update, request_id, ip)
        session.execute(sa.update(WebhookReceipt).where(WebhookReceipt.id == taken)
                        .values(outcome=receipt.as_dict()))
        _record_integration(session)
    return receipt


def _replay(session: Session, key: str, digest: str) -> Receipt:
    seen = session.scalars(sa.select(WebhookReceipt).where(
        WebhookReceipt.source == SOURCE, WebhookReceipt.idempotency_key == key)).one()
    if seen.body_sha256 != digest:
        raise Conflict("This Idempotency-Key was used with another body: send a new key for "
                       "a new update.", code="idempotency_key_reused")
    return Receipt("duplicate", seen.outcome["contract_id"], seen.outcome["payment_status"])


def _apply(session: Session, update: PaymentUpdate, request_id: str | None,
           ip: str | None) -> Receipt:
    condition = Contract.id == update.contract_id if update.contract_id is not None \
        else Contract.external_ref == update.invoice_id
    contract = session.scalars(sa.select(Contract).where(condition, Contract.deleted_at.is_(None))
                               .with_for_update()).first()
    if contract is None:
        raise NotFound(f"No contract for invoice {update.invoice_id or update.contract_id}: "
                       "send the id the push of the won deal was answered with.")
    if contract.payment_updated_at is not None and update.occurred_at < \
            contract.payment_updated_at:
        return Receipt("stale", contract.id, contract.payment_status)
    before = {"payment_status": contract.payment_status,
              "amount_paid": None if contract.amount_paid is None else str(contract.amount_paid),
              "paid_at": contract.paid_at and contract.paid_at.isoformat()}
    contract.payment_status = update.status
    contract.amount_paid = update.amount_paid if update.amount_paid is not None \
        else contract.amount_paid
    contract.paid_at = update.paid_at or contract.paid_at
    contract.payment_updated_at = update.occurred_at
    session.flush()
    after = {"payment_status": update.status,
             "amount_paid": None if contract.amount_paid is None else str(contract.amount_paid),
             "paid_at": contract.paid_at and contract.paid_at.isoformat()}
    session.add(AuditLog(user_id=None, action="update", entity="contracts",
                         entity_id=str(contract.id), before=before,
                         after={**after, "via": SOURCE}, request_id=request_id, ip=ip))
    events.emit(session, TOPIC, "contract", contract.id,
                {"contract_id": contract.id, "deal_id": contract.deal_id, **after})
    return Receipt("applied", contract.id, update.status)


def _record_integration(session: Session) -> None:
    integration_id = session.execute(insert(FinancialIntegration).values(
        name=INTEGRATION_NAME, provider="webhook", status="succeeded",
        last_synced_at=sa.func.now()).on_conflict_do_update(
        index_elements=["name"], set_={"status": "succeeded", "last_synced_at": sa.func.now(),
                                       "updated_at": sa.func.now()})
        .returning(FinancialIntegration.id)).scalar_one()
    session.execute(sa.insert(IntegrationSyncRun).values(
        kind="financial", integration_id=integration_id, direction="pull",
        status="succeeded", finished_at=sa.func.now(), records_in=1))
