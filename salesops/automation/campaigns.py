"""Campaign execution: audience resolved at send time, one delivery row per recipient,
personalised mail over SMTP, consent honoured, engagement recorded and fed back to `raw`.

A campaign runs `scheduled` -> `running` -> `completed`:

1. `start_campaign` (when `scheduled_at` has come, or at once through `launch_campaign`)
   resolves the saved segment against the contacts as they are now and writes one
   `campaign_deliveries` row per recipient, in one transaction: `queued`, or `suppressed`
   with the reason (opted out, no marketing consent). The campaign becomes `running`.
2. `send_campaign` claims queued rows in batches (`sending`, committed before the SMTP
   call), renders and sends each, and marks it `sent` (or `failed` with the error) right
   after: the mark goes to PostgreSQL while the next message is rendered and its envelope
   sent, and is committed before that message's DATA, so at most one accepted message is
   ever unmarked. Consent is checked again at send time. A run that dies leaves its
   claims; the next run retries them once their lease has run out, with the same
   Message-ID, so a recipient never gets two different copies and no recipient is lost.
   A run walks the deliveries once, in id order, each claim starting after the last one
   (not rescanning what was sent, which made a claim cost grow with the campaign); what
   becomes claimable behind it meanwhile (a dead worker's lease running out) is left to
   the next run, and the campaign is not completed before.
3. When nothing is left to send the campaign is `completed`.

Opens, clicks and unsubscribes come back through the API's tracking links
(`salesops.automation.engagement`).
"""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from salesops import events
from salesops.automation.segments import audience_query
from salesops.automation.templates import CompiledTemplate, check_template, compile_template
from salesops.automation.tracking import Tracker
from salesops.domain.errors import Conflict, InvalidInput, NotFound
from salesops.mailer import (
    Mailer,
    MailError,
    PermanentMailError,
    TransientMailError,
    build_message,
    message_id,
)
from salesops.models import (
    Campaign,
    CampaignDelivery,
    CommunicationTemplate,
    Contact,
    Notification,
)

SAMPLE_RECIPIENT = {"first_name": "Ada", "last_name": "Lovelace", "full_name": "Ada Lovelace",
                    "email": "ada@example.com", "title": "CTO", "company": "Analytical Ltd",
                    "campaign": "Sample", "unsubscribe_url": "https://example.com/u"}


def launch_campaign(session: Session, campaign_id: int) -> Campaign:
    """Send a draft or scheduled campaign now (the trigger); its template must render."""
    campaign = session.get(Campaign, campaign_id, with_for_update=True)
    if campaign is None or campaign.deleted_at is not None:
        raise NotFound(f"No campaign {campaign_id}.")
    if campaign.status not in ("draft", "scheduled"):
        raise Conflict(f"Campaign {campaign_id} is {campaign.status}; only a draft or "
                       f"scheduled campaign can be launched.", code="campaign_not_launchable")
    campaign_template(session, campaign)
    campaign.status, campaign.scheduled_at = "scheduled", datetime.now(UTC)
    events.emit(session, "campaign.launched", "campaign", campaign.id)
    return campaign


def due_campaigns(engine: sa.Engine, now: datetime | None = None) -> list[int]:
    """Campaigns to work on: scheduled ones whose time has come, and running ones. Only
    campaigns with a template are sent here; one imported from a CRM without one is a
    record of a campaign run elsewhere."""
    with engine.connect() as conn:
        return list(conn.scalars(
            sa.select(Campaign.id).where(
                Campaign.deleted_at.is_(None), Campaign.template_id.is_not(None),
                sa.or_(Campaign.status == "running",
                       sa.and_(Campaign.status == "scheduled",
                               Campaign.scheduled_at <= (now or datetime.now(UTC)))))
            .order_by(Campaign.scheduled_at, Campaign.id)))


def campaign_template(session: Session, campaign: Campaign) -> CompiledTemplate:
    if campaign.template_id is None:
        raise InvalidInput(f"Campaign {campaign.id} has no template; set template_id.",
                           field="template_id")
    row = session.get(CommunicationTemplate, campaign.template_id)
    if row is None or row.deleted_at is not None or row.channel != "email":
        raise InvalidInput(f"Campaign {campaign.id}'s template {campaign.template_id} is "
                           f"missing or not an email template.", field="template_id")
    template = compile_template(row.subject, row.body)
    check_template(template, SAMPLE_RECIPIENT)
    return template


@dataclass(frozen=True)
class Audience:
    queued: int
    suppressed: int


_SUPPRESSION = sa.case(
    (Contact.email_opt_out.is_(True), "suppressed: unsubscribed"),
    (Contact.marketing_consent.is_not(True), "suppressed: no marketing consent"),
    else_=None)


def start_campaign(engine: sa.Engine, campaign_id: int) -> Audience | None:
    """Resolve the audience of a scheduled campaign and mark it running; None if it is
    not scheduled (already started by another run, or cancelled)."""
    with Session(engine) as session, session.begin():
        campaign = session.get(Campaign, campaign_id, with_for_update=True)
        if campaign is None or campaign.status != "scheduled":
            return None
        campaign_template(session, campaign)
        matched = audience_query(campaign.audience).subquery()
        reason = _SUPPRESSION.label("reason")
        rows = (sa.select(sa.literal(campaign_id), matched.c.id,
                          # the idempotency key, whose hash is the Message-ID
                          sa.func.concat(f"campaign:{campaign_id}:contact:", matched.c.id),
                          matched.c.email,
                          sa.case((reason.is_(None), "queued"), else_="suppressed"),
                          reason)
                .select_from(matched.join(Contact, Contact.id == matched.c.id)))
        # a relaunched campaign keeps the deliveries it already has
        session.execute(
            insert(CampaignDelivery).from_select(
                ["campaign_id", "contact_id", "idempotency_key", "email", "status", "error"],
                rows).on_conflict_do_nothing(index_elements=["campaign_id", "contact_id"]))
        counts = dict(session.execute(
            sa.select(CampaignDelivery.status, sa.func.count())
            .where(CampaignDelivery.campaign_id == campaign_id)
            .group_by(CampaignDelivery.status)).all())
        session.execute(sa.update(Campaign).where(Campaign.id == campaign_id)
                        .values(status="running", version=Campaign.version + 1,
                                start_date=sa.func.coalesce(Campaign.start_date,
                                                            sa.func.current_date()))
                        .execution_options(synchronize_session=False))
        return Audience(counts.get("queued", 0), counts.get("suppressed", 0))


@dataclass
class SendResult:
    campaign_id: int
    sent: int = 0
    failed: int = 0
    suppressed: int = 0
    completed: bool = False
    errors: list[str] = field(default_factory=list)


_CLAIM = sa.text("""
    update app.campaign_deliveries d set status = 'sending', attempts = d.attempts + 1,
           claimed_at = now(), updated_at = now()
    where d.id in (
        select id from app.campaign_deliveries
        where campaign_id = :campaign_id and id > :after
          -- a campaign cancelled (or trashed) mid-run stops at its next batch
          and exists (select 1 from app.marketing_campaigns c where c.id = :campaign_id
                      and c.status = 'running' and c.deleted_at is null)
          and (status = 'queued'
               or (status = 'failed' and attempts < :max_attempts and updated_at < :started)
               or (status = 'sending' and claimed_at < :stale_before))
        order by id limit :limit
        for update skip locked)
    returning d.id, d.contact_id, d.idempotency_key
""")

#: What personalising and the consent check need of each recipient (`:ids`).
RECIPIENTS = sa.text(
    "select c.id, c.email, c.first_name, c.last_name, c.title, a.name as company, "
    "c.email_opt_out, c.marketing_consent, c.deleted_at is not null as deleted "
    "from app.contacts c left join app.accounts a on a.id = c.account_id "
    "where c.id = any(:ids)")


def send_campaign(engine: sa.Engine, campaign_id: int, mailer: Mailer, tracker: Tracker, *,
                  batch_size: int = 100, now: datetime | None = None) -> SendResult:
    """Send what is left of a running campaign; complete it when nothing is."""
    s = mailer.settings
    result = SendResult(campaign_id)
    started = datetime.now(UTC)  # what fails in this run waits for the next one
    with Session(engine) as session:
        campaign = session.get(Campaign, campaign_id)
        if campaign is None or campaign.status != "running":
            return result
        template, name = campaign_template(session, campaign), campaign.name
    after = 0  # the run walks the deliveries once, in id order
    with _marks(engine) as marks:
        while True:
            stale_before = (now or datetime.now(UTC)) - timedelta(seconds=s.lease_seconds)
            claimed = marks.query(_CLAIM, {
                "campaign_id": campaign_id, "max_attempts": s.max_delivery_attempts,
                "stale_before": stale_before, "limit": batch_size, "started": started,
                "after": after})
            if not claimed:
                break
            after = max(c.id for c in claimed)
            recipients = {r.id: r for r in marks.query(
                RECIPIENTS, {"ids": [c.contact_id for c in claimed]})}
            for i, delivery in enumerate(claimed):
                try:
                    _send_one(marks, mailer, tracker, template, name, delivery,
                              recipients.get(delivery.contact_id), result)
                except TransientMailError:
                    # the server is down or slow: give the rest of the batch back and stop
                    marks.query(_RELEASE, {"ids": [d.id for d in claimed[i + 1:]]})
                    return result
    result.completed = _complete_if_done(engine, campaign_id, s.max_delivery_attempts)
    return result


class _Marks:
    """The claims and marks of a run, on one autocommit connection driven by one worker
    thread, so that a mark's round trip to PostgreSQL overlaps rendering the next message.

    `mark` hands a statement over and returns at once; `settle` waits until everything
    handed over is committed. The sender settles before each SMTP transaction, so at most
    one accepted message is ever unmarked: the window a killed worker leaves is the same
    one message as with a mark awaited after each send.
    """

    def __init__(self, conn: sa.Connection, worker: ThreadPoolExecutor) -> None:
        self._conn, self._worker = conn, worker
        self._pending: Future | None = None

    def query(self, statement: sa.TextClause, params: dict[str, Any]) -> list[sa.Row]:
        """Run a statement after every pending mark; its rows."""
        return self._worker.submit(lambda: self._conn.execute(statement, params).all()).result()

    def mark(self, params: dict[str, Any]) -> None:
        self.settle()
        self._pending = self._worker.submit(self._conn.execute, _MARK, params)

    def settle(self) -> None:
        """Wait for the pending mark; raise its error if it failed."""
        if self._pending is not None:
            pending, self._pending = self._pending, None
            pending.result()


@contextmanager
def _marks(engine: sa.Engine) -> Iterator[_Marks]:
    """Each claim and mark is a single statement, committed at once without waiting for
    its WAL flush (see `notify.relaxed_commit` for why that keeps the guarantee)."""
    with engine.connect() as conn:
        conn = conn.execution_options(isolation_level="AUTOCOMMIT")
        conn.execute(sa.text("set synchronous_commit = off"))
        try:
            with ThreadPoolExecutor(1, thread_name_prefix="campaign-marks") as worker:
                marks = _Marks(conn, worker)
                yield marks
                marks.settle()
        finally:  # the worker has written everything handed to it by now
            conn.execute(sa.text("reset synchronous_commit"))


def _send_one(marks: _Marks, mailer: Mailer, tracker: Tracker, template: CompiledTemplate,
              campaign_name: str, delivery: Any, contact: Any, result: SendResult) -> None:
    if contact is None or contact.deleted or contact.email_opt_out \
            or contact.marketing_consent is not True or not contact.email:
        why = ("suppressed: unsubscribed" if contact is not None and contact.email_opt_out
               else "suppressed: no marketing consent or no address")
        marks.mark(_mark(delivery.id, "suppressed", error=why))
        result.suppressed += 1
        return
    s = mailer.settings
    msg_id = message_id(delivery.idempotency_key, s.message_id_domain)
    try:
        msg = personalise(template, tracker, campaign_name, delivery.id, contact, s.sender,
                          msg_id)
        # the previous message is marked before this one can be accepted; its mark's round
        # trip overlaps this one's envelope
        mailer.send(msg, before_data=marks.settle)
    except (MailError, InvalidInput) as exc:
        permanent = isinstance(exc, PermanentMailError | InvalidInput)
        marks.mark(_mark(delivery.id, "failed", error=str(exc)[:2000], give_up=permanent))
        result.failed += 1
        if len(result.errors) < 5:
            result.errors.append(str(exc))
        if not permanent:
            raise
        return
    marks.mark(_mark(delivery.id, "sent", message_id=msg_id, email=contact.email))
    result.sent += 1


def personalise(template: CompiledTemplate, tracker: Tracker, campaign_name: str,
                 delivery_id: int, contact: Any, sender: str, msg_id: str):
    def link(url: str) -> str:
        if urlsplit(str(url)).scheme not in ("http", "https"):
            raise InvalidInput(f"link({url!r}): only http and https links can be tracked",
                               field="template", code="invalid_template")
        return tracker.click_url(delivery_id, str(url))

    full_name = " ".join(p for p in (contact.first_name, contact.last_name) if p)
    unsubscribe = tracker.unsubscribe_url(delivery_id)
    context = {"first_name": contact.first_name or "", "last_name": contact.last_name or "",
               "full_name": full_name, "email": contact.email, "title": contact.title or "",
               "company": contact.company or "", "campaign": campaign_name,
               "unsubscribe_url": unsubscribe}
    try:
        subject, html, text = template.render(context, link)
    except InvalidInput:
        raise
    except Exception as exc:  # a template error for this recipient's data
        raise InvalidInput(f"the template failed for contact {contact.id}: {exc}",
                           field="template", code="invalid_template") from exc
    html += (f'\n<p style="font-size:11px;color:#777"><a href="{unsubscribe}">Unsubscribe</a>'
             f'</p>\n<img src="{tracker.open_url(delivery_id)}" width="1" height="1" alt="">')
    text += f"\n\n--\nUnsubscribe: {unsubscribe}\n"
    return build_message(sender, contact.email, subject, text, html=html, msg_id=msg_id,
                         to_name=full_name or None,
                         headers={"List-Unsubscribe": f"<{unsubscribe}>",
                                  "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"})


_MARK = sa.text("""
    update app.campaign_deliveries set status = :status, error = :error, updated_at = now(),
           sent_at = case when :status = 'sent' then now() else sent_at end,
           message_id = coalesce(:message_id, message_id), email = coalesce(:email, email),
           attempts = case when :give_up then 1000000 else attempts end
    where id = :id
""")

#: Claimed but not tried: back to the queue, the attempt not counted.
_RELEASE = sa.text("""
    update app.campaign_deliveries set status = 'queued', attempts = attempts - 1,
           claimed_at = null, updated_at = now()
    where id = any(:ids)
    returning id
""")


def _mark(delivery_id: int, status: str, *, error: str | None = None,
          message_id: str | None = None, email: str | None = None,
          give_up: bool = False) -> dict[str, Any]:
    """The parameters of `_MARK`; a permanent failure (`give_up`) is not retried by later
    runs."""
    return {"id": delivery_id, "status": status, "error": error, "message_id": message_id,
            "email": email, "give_up": give_up}


def _complete_if_done(engine: sa.Engine, campaign_id: int, max_attempts: int) -> bool:
    """Completed once no delivery is waiting, in flight, or failed but still retryable."""
    with engine.begin() as conn:
        return conn.execute(sa.text("""
            update app.marketing_campaigns set status = 'completed', updated_at = now(),
                   version = version + 1,
                   end_date = coalesce(end_date, greatest(current_date, start_date))
            where id = :id and status = 'running' and not exists (
                select 1 from app.campaign_deliveries
                where campaign_id = :id and (status in ('queued', 'sending')
                      or (status = 'failed' and attempts < :max_attempts)))
            returning id"""), {"id": campaign_id, "max_attempts": max_attempts}).first() is not None


def run_due_campaigns(engine: sa.Engine, mailer: Mailer, tracker: Tracker,
                      now: datetime | None = None) -> Iterator[tuple[Audience | None,
                                                                     SendResult]]:
    """Start and send every due campaign; yields (audience or None, result) per campaign."""
    for campaign_id in due_campaigns(engine, now):
        try:
            audience = start_campaign(engine, campaign_id)
            result = send_campaign(engine, campaign_id, mailer, tracker, now=now)
        except InvalidInput as exc:  # e.g. its template was broken or deleted
            _pause(engine, campaign_id, exc.message)
            audience, result = None, SendResult(campaign_id, errors=[exc.message])
        yield audience, result


def _pause(engine: sa.Engine, campaign_id: int, reason: str) -> None:
    """Back to draft (launching it again resumes it), and its owner told why."""
    with Session(engine) as session, session.begin():
        campaign = session.get(Campaign, campaign_id, with_for_update=True)
        campaign.status = "draft"
        if campaign.owner_id is not None:
            session.add(Notification(
                user_id=campaign.owner_id, kind="campaign_paused",
                title=f"Campaign paused: {campaign.name}", body=reason,
                payload={"campaign_id": campaign_id}))
