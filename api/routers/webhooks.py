"""Webhooks in from other systems (no user: each is signed with a shared secret)."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Request
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool

from api.deps import ClientDep
from api.schemas import error_responses
from salesops.automation import payments

router = APIRouter(prefix="/webhooks", tags=["webhooks"])


class PaymentReceipt(BaseModel):
    status: Literal["applied", "stale", "duplicate"]
    contract_id: int
    payment_status: str


_BODY = {"requestBody": {"required": True, "content": {"application/json": {
    "schema": payments.PaymentUpdate.model_json_schema()}}}}


@router.post("/finance/payments", response_model=PaymentReceipt, openapi_extra=_BODY,
             responses=error_responses(401, 404, 409, 422),
             summary="Payment-status update from the financial system (signed)")
async def finance_payment(request: Request, client: ClientDep) -> PaymentReceipt:
    """Sets the invoice's (contract's) payment status. Signed with HMAC-SHA256 over
    `<X-Salesops-Timestamp>.<body>` (`X-Salesops-Signature: v1=<hex>`); a bad signature
    or an old timestamp is a 401 (logged and audited). The same `Idempotency-Key` again
    changes nothing and answers `duplicate`. Contract: docs/finance-webhooks.md."""
    body = await request.body()
    receipt = await run_in_threadpool(
        payments.receive, request.app.state.engine, dict(request.headers), body,
        ip=client.ip,
        request_id=getattr(request.state, "request_id", None))
    return PaymentReceipt(**receipt.as_dict())
