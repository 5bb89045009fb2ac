"""HubSpot CRM API v3 against a local server speaking its shapes: paging, incremental
search, 429 storms and 500s, a token HubSpot refuses, and resuming after giving up."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from hubspot_server import TOKEN, HubSpotServer

from connectors.hubspot_api import HubSpotClient, HubSpotError, Retry
from orchestration.ingestion import sync_hubspot
from salesops.cursors import get_cursor

T0 = 1_735_689_600_000  # 2025-01-01


@pytest.fixture
def hubspot():
    server = HubSpotServer()
    for i in range(250):
        server.put("contacts", str(1000 + i), T0 + i * 1000, email=f"p{i}@example.com",
                   firstname=f"P{i}")
    server.put("companies", "1", T0, name="Acme", domain="acme.com")
    server.put("deals", "7", T0, dealname="Acme renewal", amount="12000", dealstage="closedwon")
    server.put("notes", "55", T0, hs_note_body="Called, interested")
    server.put("calls", "56", T0, hs_call_title="Intro call")
    server.owners = [{"id": "31", "email": "rep@example.com", "firstName": "Rita",
                      "lastName": "Rep", "userId": 9, "archived": False}]
    server.pipelines = [{"id": "default", "label": "Sales Pipeline", "displayOrder": 0,
                         "stages": [{"id": "closedwon", "label": "Closed won",
                                     "metadata": {"probability": "1.0"}}]}]
    yield server
    server.close()


def client(server: HubSpotServer, sleeps: list[float] | None = None, attempts: int = 8,
           token: str = TOKEN) -> HubSpotClient:
    record = sleeps if sleeps is not None else []
    return HubSpotClient(token, base_url=server.url, retry=Retry(attempts=attempts),
                         sleep=record.append)


def counts(totals) -> dict[str, tuple[int, int]]:
    return {e: (t.rows_loaded, t.rows_duplicate) for e, t in totals.items()}


def test_full_read_then_only_what_changed(clean_db, hubspot):
    first = sync_hubspot(clean_db, client(hubspot))
    assert counts(first) == {"contacts": (250, 0), "companies": (1, 0), "deals": (1, 0),
                             "engagements": (2, 0), "owners": (1, 0), "pipelines": (1, 0)}
    assert hubspot.requests.count("GET /crm/v3/objects/contacts") == 3  # paged by `after`
    assert get_cursor(clean_db, "hubspot", "contacts") == {"modified_ms": T0 + 249_000}

    hubspot.put("contacts", "1003", T0 + 500_000, email="p3@example.com", firstname="Pia")
    hubspot.put("contacts", "2000", T0 + 600_000, email="new@example.com")
    hubspot.requests.clear()
    second = sync_hubspot(clean_db, client(hubspot), entities=("contacts",))
    # GTE the cursor: the newest contact comes again and adds nothing
    assert counts(second) == {"contacts": (2, 1)}
    assert hubspot.requests == ["POST /crm/v3/objects/contacts/search"]
    assert get_cursor(clean_db, "hubspot", "contacts") == {"modified_ms": T0 + 600_000}
    with clean_db.connect() as conn:
        versions = conn.execute(sa.text(
            "select record->'properties'->>'firstname' from raw.hubspot__contacts "
            "where source_key = '1003' order by id")).scalars().all()
        keys = conn.execute(sa.text("select source_key from raw.hubspot__engagements "
                                    "order by 1")).scalars().all()
    assert versions == ["P3", "Pia"] and keys == ["calls:56", "notes:55"]


def test_429_storm_and_500s_are_waited_out(clean_db, hubspot):
    hubspot.failures = [(429, {"Retry-After": "3"})] * 6 + [(500, {}), (502, {})]
    sleeps: list[float] = []
    totals = sync_hubspot(clean_db, client(hubspot, sleeps, attempts=10),
                          entities=("contacts",))
    assert counts(totals) == {"contacts": (250, 0)}
    assert sleeps[:6] == [3.0] * 6  # Retry-After honoured
    assert 0.5 <= sleeps[6] <= 1.0 and 1.0 <= sleeps[7] <= 2.0  # then exponential


def test_an_exhausted_rate_limit_window_is_waited_for(clean_db, hubspot):
    hubspot.headers = {"X-HubSpot-RateLimit-Remaining": "0",
                       "X-HubSpot-RateLimit-Interval-Milliseconds": "10000",
                       "X-HubSpot-RateLimit-Secondly-Remaining": "3"}
    sleeps: list[float] = []
    sync_hubspot(clean_db, client(hubspot, sleeps), entities=("owners", "companies"))
    assert sleeps == [10.0]  # before the second request, not after the last


def test_giving_up_keeps_what_landed_and_a_rerun_loads_the_rest(clean_db, hubspot):
    hubspot.fail_from = 3  # two pages of contacts, then the server breaks
    with pytest.raises(HubSpotError, match="kept failing .* run the ingest again later"):
        sync_hubspot(clean_db, client(hubspot, attempts=3), entities=("contacts",))
    with clean_db.connect() as conn:
        kept = conn.execute(sa.text("select count(*) from raw.hubspot__contacts")).scalar()
    assert kept == 200 and get_cursor(clean_db, "hubspot", "contacts") is None
    hubspot.fail_from = None
    again = sync_hubspot(clean_db, client(hubspot), entities=("contacts",))
    assert counts(again) == {"contacts": (50, 200)}


def test_a_refused_token_is_a_clear_error(clean_db, hubspot):
    with pytest.raises(HubSpotError, match="refused the token .* check HUBSPOT_TOKEN"):
        sync_hubspot(clean_db, client(hubspot, token="wrong"), entities=("owners",))
