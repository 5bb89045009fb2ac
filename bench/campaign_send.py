"""Campaign send: personalise and send N emails through `salesops.automation.campaigns`
(audience resolved by its segment, one delivery row claimed and marked per message, signed
tracking links, sandboxed template), against a bare smtplib loop sending the same messages,
pre-rendered, over one connection.

    python -m bench.campaign_send [--scale N]

Both send to the same local aiosmtpd server (a Sink, in its own process). Runs against the
embedded PostgreSQL in a temporary folder unless DATABASE_URL is set (then in a fresh
database on that server, dropped afterwards). The last line printed is the JSON result.
"""

from __future__ import annotations

import argparse
import json
import smtplib
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.orm import Session

from bench.database import peak_rss_mb, scratch_database
from salesops.automation import campaigns
from salesops.automation.tracking import Tracker
from salesops.db import get_engine
from salesops.mailer import Mailer, MailSettings, message_id

TEMPLATE = """<p>Hi {{ first_name or 'there' }},</p>
<p>As {{ title or 'a leader' }} at {{ company or 'your company' }}, you will like what
{{ campaign }} brings: <a href="{{ link('https://example.com/offer') }}">see the offer</a>
or <a href="{{ link('https://example.com/pricing') }}">our pricing</a>.</p>
<p>Best regards,<br>The team</p>"""
AUDIENCE = {"all": [{"field": "lifecycle_stage", "op": "in", "value": ["mql", "sql"]}]}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _start_smtp(port: int) -> subprocess.Popen:
    proc = subprocess.Popen([sys.executable, "-m", "aiosmtpd", "-n", "-c",
                             "aiosmtpd.handlers.Sink", "-l", f"127.0.0.1:{port}"])
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return proc
        except OSError:
            time.sleep(0.1)
    proc.kill()
    raise RuntimeError(f"the aiosmtpd server did not start on port {port}")


def _seed(engine: sa.Engine, scale: int) -> int:
    with engine.begin() as conn:
        conn.execute(sa.text("""
            insert into app.accounts (name) select 'Company ' || g
            from generate_series(1, greatest(:n / 10, 1)) g"""), {"n": scale})
        conn.execute(sa.text("""
            insert into app.contacts (first_name, last_name, email, email_normalized, title,
                lifecycle_stage, marketing_consent, account_id)
            select 'First' || g, 'Last' || g, 'person' || g || '@example.com',
                   'person' || g || '@example.com', 'Head of Sales',
                   case when g % 2 = 0 then 'mql' else 'sql' end, true,
                   1 + g % greatest(:n / 10, 1)
            from generate_series(1, :n) g"""), {"n": scale})
        template_id = conn.execute(sa.text(
            "insert into app.communication_templates (name, subject, body) values "
            "('bench', 'News for {{ first_name }} at {{ company }}', :b) returning id"),
            {"b": TEMPLATE}).scalar_one()
        return conn.execute(sa.text(
            "insert into app.marketing_campaigns (name, status, template_id, audience, "
            "scheduled_at) values ('Bench launch', 'scheduled', :t, cast(:a as jsonb), now())"
            " returning id"), {"t": template_id, "a": json.dumps(AUDIENCE)}).scalar_one()


def _prerendered(engine: sa.Engine, campaign_id: int, mailer: Mailer,
                 tracker: Tracker) -> list[tuple[str, str, bytes]]:
    """The same messages, rendered up front (not timed): (from, to, bytes)."""
    with engine.connect() as conn:
        rows = conn.execute(sa.text(
            "select d.id, d.idempotency_key, d.contact_id from app.campaign_deliveries d "
            "where d.campaign_id = :c order by d.id"), {"c": campaign_id}).all()
        contacts = {r.id: r for r in conn.execute(campaigns.RECIPIENTS,
                                                  {"ids": [r.contact_id for r in rows]})}
    with Session(engine) as session:
        campaign = session.get(campaigns.Campaign, campaign_id)
        template = campaigns.campaign_template(session, campaign)
    s = mailer.settings
    out = []
    for r in rows:
        contact = contacts[r.contact_id]
        msg = campaigns.personalise(template, tracker, campaign.name, r.id, contact, s.sender,
                                     message_id(r.idempotency_key, s.message_id_domain))
        out.append((s.sender, contact.email, msg.as_bytes(policy=msg.policy.clone(linesep="\r\n"))))
    return out


def bare_loop(port: int, messages: list[tuple[str, str, bytes]]) -> int:
    with smtplib.SMTP("127.0.0.1", port, timeout=30) as smtp:
        for sender, to, data in messages:
            smtp.sendmail(sender, [to], data)
    return len(messages)


def run(url: str, scale: int) -> dict:
    port = _free_port()
    smtp = _start_smtp(port)
    try:
        engine = get_engine(url)
        campaign_id = _seed(engine, scale)
        settings = MailSettings(_env_file=None, smtp_port=port, max_per_second=0)
        tracker = Tracker("bench-secret", "http://127.0.0.1:8000")
        print(f"sending {scale} personalised emails through the campaign runner...",
              file=sys.stderr)
        start = time.perf_counter()
        with Mailer(settings) as mailer:
            [(audience, result)] = list(campaigns.run_due_campaigns(engine, mailer, tracker))
        ours_s = time.perf_counter() - start
        if result.sent != scale or not result.completed:
            raise RuntimeError(f"expected {scale} sent, got {result}")
        messages = _prerendered(engine, campaign_id, Mailer(settings), tracker)
        print(f"ours: {scale} in {ours_s:.1f} s; now the bare smtplib loop...", file=sys.stderr)
        start = time.perf_counter()
        sent = bare_loop(port, messages)
        base_s = time.perf_counter() - start
        engine.dispose()
    finally:
        smtp.terminate()
        smtp.wait()
    print(f"campaign runner: {scale} in {ours_s:.2f} s; bare smtplib: {sent} in {base_s:.2f} s",
          file=sys.stderr)
    value, baseline = scale / ours_s, sent / base_s
    return {"bench": "campaign_send", "scale": scale, "value": round(value, 1),
            "unit": "messages/s", "baseline": "bare smtplib loop, pre-rendered",
            "baseline_value": round(baseline, 1), "ratio": round(value / baseline, 3),
            "peak_rss_mb": peak_rss_mb()}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.campaign_send",
                                     description="Campaign send vs a bare smtplib loop.")
    parser.add_argument("--scale", type=int, default=10_000, help="recipients")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="bench-campaign-") as tmp, \
            scratch_database(Path(tmp), "bench_campaign") as url:
        result = run(url, args.scale)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
