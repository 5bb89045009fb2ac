"""A won deal: contract, customer status, and a signed, idempotent push to a local HTTP
server speaking the financial webhook contract, which fails, times out and recovers."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from salesops import events
from salesops.automation.finance import FinanceSettings, process_won_deals, verify

SECRET = "finance-shared-secret"


class Ledger(ThreadingHTTPServer):
    """The financial system: checks signatures, dedupes on Idempotency-Key, and can be
    told to answer 500 or to stall."""

    def __init__(self):
        super().__init__(("127.0.0.1", 0), _Handler)
        self.invoices: dict[str, dict] = {}
        self.requests = 0
        self.rejected = 0
        self.fail_next = 0
        self.stall_next = 0.0


class _Handler(BaseHTTPRequestHandler):
    server: Ledger

    def log_message(self, *args):  # quiet
        pass

    def do_POST(self):  # noqa: N802 (http.server's name)
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.server.requests += 1
        if self.server.stall_next:
            stall, self.server.stall_next = self.server.stall_next, 0.0
            time.sleep(stall)
        if self.server.fail_next:
            self.server.fail_next -= 1
            return self._answer(500, {"error": "ledger down"})
        if not verify(SECRET, self.headers["X-Salesops-Timestamp"], body,
                      self.headers["X-Salesops-Signature"]):
            self.server.rejected += 1
            return self._answer(401, {"error": "bad signature"})
        key = self.headers["Idempotency-Key"]
        number = len(self.server.invoices) + 1
        invoice = self.server.invoices.setdefault(key, {"id": f"INV-{number}",
                                                        "body": json.loads(body)})
        self._answer(200, {"id": invoice["id"]})

    def _answer(self, status, payload):
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


@pytest.fixture
def ledger():
    server = Ledger()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def _settings(server, **overrides) -> FinanceSettings:
    values = {"webhook_url": f"http://127.0.0.1:{server.server_port}/webhooks/salesops",
              "webhook_secret": SECRET, "timeout_seconds": 0.5, "max_attempts": 2,
              "retry_backoff_seconds": 0.01, **overrides}
    return FinanceSettings(_env_file=None, **values)


def _won_deal(engine) -> int:
    with Session(engine) as session, session.begin():
        conn = session.connection()
        q = lambda sql, **p: conn.execute(sa.text(sql), p).scalar()  # noqa: E731
        pipeline = q("insert into app.pipelines (name) values ('Sales') returning id")
        stage = q("insert into app.pipeline_stages (pipeline_id, name, position, probability, "
                  "forecast_category, is_closed, is_won) values (:p, 'Won', 9, 100, 'closed', "
                  "true, true) returning id", p=pipeline)
        account = q("insert into app.accounts (name, domain) values ('ACME', 'acme.test') "
                    "returning id")
        contact = q("insert into app.contacts (first_name, email, email_normalized, account_id,"
                    " lifecycle_stage) values ('Ann', 'ann@acme.test', 'ann@acme.test', :a, "
                    "'opportunity') returning id", a=account)
        deal = q("insert into app.sales_pipeline (name, account_id, contact_id, pipeline_id, "
                 "stage_id, amount, is_won, closed_at) values ('ACME platform', :a, :c, :p, "
                 ":s, 12000.50, true, now()) returning id",
                 a=account, c=contact, p=pipeline, s=stage)
        events.emit(session, "deal.won", "deal", deal)
        return deal


def _state(engine) -> dict:
    with engine.connect() as conn:
        return dict(conn.execute(sa.text("""
            select (select count(*) from app.contracts) as contracts,
                   (select external_ref from app.contracts) as external_ref,
                   (select is_customer from app.accounts) as is_customer,
                   (select lifecycle_stage from app.contacts) as stage,
                   (select status from app.financial_integrations) as integration,
                   (select array_agg(status order by id) from app.integration_sync_runs) as runs
        """)).mappings().one())


def test_a_won_deal_becomes_a_contract_a_customer_and_one_invoice(clean_db, ledger):
    deal = _won_deal(clean_db)
    assert process_won_deals(clean_db, _settings(ledger)) == (1, 0)
    state = _state(clean_db)
    assert state == {"contracts": 1, "external_ref": "INV-1", "is_customer": True,
                     "stage": "customer", "integration": "succeeded", "runs": ["succeeded"]}
    [invoice] = ledger.invoices.values()
    assert invoice["body"]["invoice"]["amount"] == "12000.50"
    assert invoice["body"]["customer"]["contact"]["email"] == "ann@acme.test"
    # the same event again (delivered twice): still one contract and one invoice
    with Session(clean_db) as session, session.begin():
        events.emit(session, "deal.won", "deal", deal)
    assert process_won_deals(clean_db, _settings(ledger)) == (1, 0)
    assert _state(clean_db)["contracts"] == 1 and len(ledger.invoices) == 1


def test_the_ledger_answering_500_or_timing_out_is_retried_without_duplicates(clean_db,
                                                                              ledger):
    _won_deal(clean_db)
    ledger.fail_next = 5  # more than one run's attempts
    assert process_won_deals(clean_db, _settings(ledger)) == (0, 1)
    state = _state(clean_db)
    assert state["contracts"] == 1 and state["external_ref"] is None  # contract kept
    assert state["integration"] == "failed"
    ledger.fail_next = 0
    ledger.stall_next = 1.0  # the first try times out; the retry gets through
    assert process_won_deals(clean_db, _settings(ledger)) == (1, 0)
    assert len(ledger.invoices) == 1 and _state(clean_db)["external_ref"] == "INV-1"
    assert _state(clean_db)["runs"] == ["failed", "succeeded"]


def test_a_bad_signature_is_rejected_and_recorded(clean_db, ledger):
    _won_deal(clean_db)
    assert process_won_deals(clean_db, _settings(ledger, webhook_secret="wrong")) == (0, 1)
    assert ledger.rejected == 1 and ledger.invoices == {}  # a 4xx is not retried
    with clean_db.connect() as conn:
        error = conn.execute(sa.text("select last_error from app.events")).scalar()
        run_errors = conn.execute(sa.text("select errors from app.integration_sync_runs")
                                  ).scalar()
    assert "HTTP 401" in error and "HTTP 401" in run_errors[0]
