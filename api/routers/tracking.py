"""Campaign email tracking (public, no authentication): the open pixel, click redirects
and the unsubscribe link.

Every link carries a token signed with the installation's secret key, naming the delivery
(and, for a click, the destination): an altered or forged token is a 404, so the redirect
goes only where a campaign email pointed. Each hit is stamped on the delivery and emitted
to the outbox; Dagster moves opens and clicks into `raw.touchpoints__events`.
"""

from __future__ import annotations

import base64
from html import escape
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from api.deps import SessionDep
from api.schemas import error_responses
from salesops.automation.engagement import record_engagement
from salesops.automation.tracking import Tracker
from salesops.mailer import MailSettings
from salesops.settings import get_settings

router = APIRouter(prefix="/t", tags=["tracking"])

PIXEL = base64.b64decode("R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7")
NO_STORE = {"Cache-Control": "no-store, max-age=0"}


def get_tracker(request: Request) -> Tracker:
    """The app's tracker (set on app.state), else one from the installation's settings:
    the same secret key the campaign sender signs with."""
    tracker = getattr(request.app.state, "tracker", None)
    if tracker is None:
        tracker = Tracker(get_settings().secret_key(), MailSettings().tracking_base_url)
        request.app.state.tracker = tracker
    return tracker


TrackerDep = Annotated[Tracker, Depends(get_tracker)]


@router.get("/o/{token}.gif", response_class=Response, responses=error_responses(404),
            summary="Open-tracking pixel")
def opened(token: str, session: SessionDep, tracker: TrackerDep) -> Response:
    """A 1x1 transparent GIF; records the delivery as opened."""
    action = tracker.read(token, "open")
    record_engagement(session, action.delivery_id, "open")
    return Response(PIXEL, media_type="image/gif", headers=NO_STORE)


@router.get("/c/{token}", status_code=302, response_class=RedirectResponse,
            responses=error_responses(404), summary="Click redirect")
def clicked(token: str, session: SessionDep, tracker: TrackerDep) -> RedirectResponse:
    """Records the click and redirects to the link the email carried."""
    action = tracker.read(token, "click")
    record_engagement(session, action.delivery_id, "click", action.url)
    return RedirectResponse(action.url, status_code=302, headers=NO_STORE)


_PAGE = ("<!doctype html><html><head><meta charset='utf-8'><title>{title}</title></head>"
         "<body style='font-family:sans-serif;max-width:32em;margin:4em auto'>{body}"
         "</body></html>")


@router.get("/u/{token}", response_class=HTMLResponse, responses=error_responses(404),
            summary="Unsubscribe page")
def unsubscribe_page(token: str, tracker: TrackerDep) -> HTMLResponse:
    """Asks to confirm (a GET changes nothing, so link scanners cannot unsubscribe)."""
    tracker.read(token, "unsubscribe")
    form = (f"<h1>Unsubscribe</h1><p>Stop receiving marketing email from us?</p>"
            f"<form method='post' action='{escape(token)}'>"
            f"<button type='submit'>Unsubscribe</button></form>")
    return HTMLResponse(_PAGE.format(title="Unsubscribe", body=form), headers=NO_STORE)


@router.post("/u/{token}", response_class=HTMLResponse, responses=error_responses(404),
             summary="Unsubscribe (also RFC 8058 one-click)")
def unsubscribe(token: str, session: SessionDep, tracker: TrackerDep) -> HTMLResponse:
    """Opts the contact out of marketing email; saying it twice is harmless."""
    action = tracker.read(token, "unsubscribe")
    record_engagement(session, action.delivery_id, "unsubscribe")
    return HTMLResponse(_PAGE.format(title="Unsubscribed", body=(
        "<h1>You are unsubscribed</h1><p>You will receive no more marketing email from us."
        "</p>")), headers=NO_STORE)
