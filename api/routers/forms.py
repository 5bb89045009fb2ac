"""Public web-form submissions: the lead-capture endpoint."""

from __future__ import annotations

import asyncio
import contextvars
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Annotated

from fastapi import APIRouter, Path, Request, status
from fastapi.responses import JSONResponse
from sqlalchemy.orm import Session

from api.deps import RateLimit, client_ip
from api.schemas import FormSubmission, SubmissionReceipt, error_responses
from api.schemas.forms import FORM_KEY_PATTERN
from salesops.domain.leads import capture_lead

router = APIRouter(prefix="/forms", tags=["forms"])

#: The captures' worker threads: as many as the database pool's connections (10, 20 at
#: peaks: `salesops.db.get_engine`), so no thread waits for one. asyncio's executor hop
#: costs about half the CPU of anyio's (`run_in_threadpool`) per request.
_CAPTURE_THREADS = ThreadPoolExecutor(20, thread_name_prefix="capture")

form_rate_limit = RateLimit("forms", lambda s: s.form_rate_limit,
                            lambda s: s.form_rate_window_seconds)


def _receipt(status_code: int, outcome: str, submission_id: str, lead_id: int | None
             ) -> JSONResponse:
    return JSONResponse({"status": outcome, "submission_id": submission_id,
                         "lead_id": lead_id}, status_code=status_code)


def _capture(request: Request, form_key: str, body: FormSubmission) -> JSONResponse:
    """The whole submission in one worker-thread hop: the rate limit (one Redis call),
    then one transaction, committed before the answer."""
    state, ip = request.app.state, client_ip(request)
    form_rate_limit.check(state.redis, state.security, ip)
    submission_id = body.submission_id or uuid.uuid4().hex
    if body.is_bot:  # honeypot filled in: say thanks, keep nothing
        return _receipt(status.HTTP_202_ACCEPTED, "accepted", submission_id, None)
    fields, consent = body.fields, body.consent
    with Session(state.engine) as session, session.begin():
        lead = capture_lead(
            session, email=fields.email, first_name=fields.first_name,
            last_name=fields.last_name, company=fields.company, phone=fields.phone,
            job_title=fields.job_title, message=fields.message, page_url=body.page_url,
            utm=body.utm.model_dump(exclude_none=True),
            consent=({"given": consent.marketing, "text": consent.text,
                      "at": consent.given_at} if consent else None),
            form_key=form_key, submission_id=submission_id,
            request_id=getattr(request.state, "request_id", None), ip=ip)
    return _receipt(status.HTTP_201_CREATED, "created", submission_id, lead.id)


@router.post(
    "/{form_key}/submissions", status_code=status.HTTP_201_CREATED,
    response_model=SubmissionReceipt,
    responses={202: {"model": SubmissionReceipt, "description": "Received"},
               **error_responses(422, 429)},
    summary="Submit a web form (public, no authentication)")
async def submit(form_key: Annotated[str, Path(pattern=FORM_KEY_PATTERN)],
                 body: FormSubmission, request: Request) -> JSONResponse:
    """Stores the submission as a lead of the contact with that email (created if new),
    with its UTM parameters and marketing consent, and announces it (`lead.created`).

    Sending the same `submission_id` again returns the same lead and changes nothing.
    Rate-limited per IP (429 with Retry-After). An invalid email is a 422."""
    context = contextvars.copy_context()  # the request id, for what the thread logs
    return await asyncio.get_running_loop().run_in_executor(
        _CAPTURE_THREADS, context.run, _capture, request, form_key, body)
