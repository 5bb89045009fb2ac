"""Public web-form submissions: the lead-capture endpoint."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Path, status
from fastapi.responses import JSONResponse

from api.deps import RateLimit, SessionDep
from api.schemas import FormSubmission, SubmissionReceipt, error_responses
from api.schemas.forms import FORM_KEY_PATTERN
from salesops.domain.leads import capture_lead

router = APIRouter(prefix="/forms", tags=["forms"])

form_rate_limit = RateLimit("forms", lambda s: s.form_rate_limit,
                            lambda s: s.form_rate_window_seconds)


@router.post(
    "/{form_key}/submissions", status_code=status.HTTP_201_CREATED,
    response_model=SubmissionReceipt, dependencies=[Depends(form_rate_limit)],
    responses={202: {"model": SubmissionReceipt, "description": "Received"},
               **error_responses(422, 429)},
    summary="Submit a web form (public, no authentication)")
def submit(form_key: Annotated[str, Path(pattern=FORM_KEY_PATTERN)], body: FormSubmission,
           session: SessionDep):
    """Stores the submission as a lead of the contact with that email (created if new),
    with its UTM parameters and marketing consent, and announces it (`lead.created`).

    Sending the same `submission_id` again returns the same lead and changes nothing.
    Rate-limited per IP (429 with Retry-After). An invalid email is a 422."""
    submission_id = body.submission_id or uuid.uuid4().hex
    if body.is_bot:  # honeypot filled in: say thanks, keep nothing
        receipt = SubmissionReceipt(status="accepted", submission_id=submission_id)
        return JSONResponse(receipt.model_dump(), status_code=status.HTTP_202_ACCEPTED)
    fields, consent = body.fields, body.consent
    lead = capture_lead(
        session, email=fields.email, first_name=fields.first_name,
        last_name=fields.last_name, company=fields.company, phone=fields.phone,
        job_title=fields.job_title, message=fields.message, page_url=body.page_url,
        utm=body.utm.model_dump(exclude_none=True),
        consent=({"given": consent.marketing, "text": consent.text, "at": consent.given_at}
                 if consent else None),
        form_key=form_key, submission_id=submission_id)
    return SubmissionReceipt(status="created", submission_id=submission_id, lead_id=lead.id)
