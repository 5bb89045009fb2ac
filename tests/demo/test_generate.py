"""The demo data generator: deterministic, as documented, messy, and carrying real signal."""

from __future__ import annotations

import csv
import json
import mailbox
import re
from email.header import decode_header, make_header
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import cross_val_score

from salesops.demo import generate, ids
from salesops.errors import SalesopsError

DOC = Path(__file__).resolve().parents[2] / "docs" / "demo-data.md"
SCALE, SEED = 2_000, 5
ANCHOR = "2026-06-30T00:00:00.000+0000"
WEBFORM_KEYS = {"submission_id", "form_key", "submitted_at", "fields", "utm", "consent",
                "page_url", "ip", "user_agent"}
WEBFORM_FIELDS = {"email", "first_name", "last_name", "company", "phone", "job_title", "message"}
UTM_KEYS = {"source", "medium", "campaign", "content", "term"}
EVENT_KEYS = {"event_id", "event_type", "occurred_at", "anonymous_id", "email", "channel",
              "campaign", "utm", "page_url", "referrer", "cost"}
EVENT_TYPES = {"session", "ad_click", "email_open", "email_click", "form_fill", "meeting"}
CHANNELS = {"organic_search", "paid_search", "paid_social", "email", "direct", "referral",
            "events", "partner"}
HUBSPOT_RECORD_KEYS = {"id", "properties", "createdAt", "updatedAt", "archived"}


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict, list]:
    out = tmp_path_factory.mktemp("demo")
    calls: list[tuple[str, int, int]] = []
    manifest = generate(out, SCALE, SEED, progress=lambda *call: calls.append(call))
    return out, manifest, calls


def _csv(root: Path, name: str) -> pd.DataFrame:
    return pd.read_csv(root / "salesforce" / name, dtype=str, keep_default_na=False)


def _jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def _hubspot(root: Path, kind: str) -> list[dict]:
    pages = sorted((root / "hubspot" / kind).glob("page-*.json"))
    return [r for p in pages for r in json.loads(p.read_text(encoding="utf-8"))["results"]]


def _mail(root: Path) -> list[mailbox.Message]:
    box = mailbox.mbox(root / "mail" / "sales.mbox", create=False)
    folder = mailbox.Maildir(root / "mail" / "Maildir", factory=None, create=False)
    return [*box, *folder]


def _documented_columns() -> dict[str, list[str]]:
    rows = re.findall(r"^\| (\w+\.csv) \| ([^|]+) \|$", DOC.read_text(), flags=re.M)
    return {name: [c.strip() for c in columns.split(",")] for name, columns in rows}


def _files(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file()}


def test_same_seed_same_bytes_other_seed_other_bytes(tmp_path: Path) -> None:
    generate(tmp_path / "a", 300, 1)
    generate(tmp_path / "b", 300, 1)
    generate(tmp_path / "c", 300, 2)
    a, b, c = (_files(tmp_path / x) for x in "abc")
    assert a.keys() == b.keys()
    assert all(a[name] == b[name] for name in a)
    assert a["salesforce/Lead.csv"] != c["salesforce/Lead.csv"]
    assert a["mail/sales.mbox"] != c["mail/sales.mbox"]


def test_regenerating_into_the_same_folder_replaces_the_data_set(tmp_path: Path) -> None:
    first = generate(tmp_path, 300, 1)
    assert generate(tmp_path, 300, 1) == first
    assert _files(tmp_path)["manifest.json"] == (tmp_path / "manifest.json").read_bytes()


def test_every_documented_file_has_its_columns(data) -> None:
    root, _, _ = data
    documented = _documented_columns()
    assert len(documented) == 9
    for name, columns in documented.items():
        with (root / "salesforce" / name).open(encoding="utf-8", newline="") as handle:
            assert next(csv.reader(handle)) == columns, name


def test_json_sources_have_the_documented_shapes(data) -> None:
    root, _, _ = data
    forms = _jsonl(root / "webforms" / "submissions.jsonl")
    assert forms and all(set(f) == WEBFORM_KEYS for f in forms)
    assert all(set(f["fields"]) == WEBFORM_FIELDS and set(f["utm"]) == UTM_KEYS for f in forms)
    assert all(set(f["consent"]) == {"marketing", "text", "given_at"} for f in forms)
    events = _jsonl(root / "touchpoints" / "events.jsonl")
    assert all(set(e) == EVENT_KEYS and set(e["utm"]) == UTM_KEYS for e in events)
    assert {e["event_type"] for e in events} == EVENT_TYPES
    assert {e["channel"] for e in events} <= CHANNELS
    clicks = [e for e in events if e["event_type"] == "ad_click"]
    assert all(e["cost"] > 0 for e in clicks)
    assert all(e["cost"] is None for e in events if e["event_type"] != "ad_click")
    for kind in ("contacts", "companies", "deals"):
        records = _hubspot(root, kind)
        assert records and all(set(r) >= HUBSPOT_RECORD_KEYS for r in records)
        assert all(isinstance(v, str | None) for r in records for v in r["properties"].values())


def test_hubspot_pages_link_to_the_next_one(data) -> None:
    root, _, _ = data
    pages = sorted((root / "hubspot" / "contacts").glob("page-*.json"))
    bodies = [json.loads(p.read_text()) for p in pages]
    assert len(bodies) > 1 and "paging" not in bodies[-1]
    for page, following in zip(bodies, bodies[1:], strict=False):
        assert len(page["results"]) == 100
        assert page["paging"]["next"]["after"] == following["results"][0]["id"]


def test_manifest_counts_match_the_files(data) -> None:
    root, manifest, _ = data
    assert json.loads((root / "manifest.json").read_text()) == manifest
    assert (manifest["format"], manifest["seed"], manifest["scale"]) == (1, SEED, SCALE)
    counts = manifest["counts"]
    on_disk = {str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()}
    assert {k for k in counts if k != "mail/Maildir"} == {
        f for f in on_disk if not f.startswith("mail/Maildir/") and f != "manifest.json"}
    for name, rows in counts.items():
        path = root / name
        if name.endswith(".csv"):
            with path.open(encoding="utf-8", newline="") as handle:
                assert sum(1 for _ in csv.reader(handle)) - 1 == rows, name
        elif name.endswith(".jsonl"):
            assert len(path.read_text(encoding="utf-8").splitlines()) == rows, name
        elif name.endswith(".json"):
            assert len(json.loads(path.read_text())["results"]) == rows, name
        elif name == "mail/sales.mbox":
            assert len(mailbox.mbox(path, create=False)) == rows
        else:
            assert len(mailbox.Maildir(path, factory=None, create=False)) == rows


def test_sizes_follow_the_scale(data) -> None:
    root, manifest, calls = data
    counts = manifest["counts"]
    users, accounts = _csv(root, "User.csv"), _csv(root, "Account.csv")
    assert len(users) == SCALE // 100
    assert len(accounts) == SCALE // 8
    assert 20 <= counts["salesforce/Campaign.csv"] <= 60
    assert set(users["ManagerId"]) - {""} <= set(users["Id"])
    mail = counts["mail/sales.mbox"] + counts["mail/Maildir"]
    assert mail == SCALE // 2
    assert calls[-1] == ("people", SCALE, SCALE)


def test_ids_are_salesforce_shaped(data) -> None:
    root, _, _ = data
    leads = _csv(root, "Lead.csv")
    assert leads["Id"].is_unique and (leads["Id"].str.len() == 18).all()
    assert ids.salesforce("001", np.array([0]))[0][:3] == "001"
    # the case-safe suffix of a documented example id
    chars = np.frombuffer(b"001D000000IqhSL", np.uint8)
    upper = (chars >= ord("A")) & (chars <= ord("Z"))
    suffix = "".join("ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"[int(upper[i:i + 5] @ (1 << np.arange(5)))]
                     for i in (0, 5, 10))
    assert suffix == "IAZ"
    contacts = _csv(root, "Contact.csv")
    converted = leads[leads["IsConverted"] == "true"]
    assert set(converted["ConvertedContactId"]) <= set(contacts["Id"])
    opportunities = set(_csv(root, "Opportunity.csv")["Id"])
    assert set(converted["ConvertedOpportunityId"]) - {""} <= opportunities
    assert set(_csv(root, "OpportunityHistory.csv")["OpportunityId"]) <= opportunities


def test_nothing_happens_after_the_anchor(data) -> None:
    root, _, _ = data
    for name in ("Lead.csv", "Contact.csv", "Account.csv", "Opportunity.csv", "Task.csv",
                 "OpportunityHistory.csv", "CampaignMember.csv"):
        assert _csv(root, name)["CreatedDate"].max() < ANCHOR, name
    events = _jsonl(root / "touchpoints" / "events.jsonl")
    assert max(e["occurred_at"] for e in events) < "2026-06-30T00:00:00"


def test_mail_parses_and_holds_threads(data) -> None:
    root, _, _ = data
    messages = _mail(root)
    ids_seen = {m["Message-ID"] for m in messages if m["Message-ID"]}
    replies = [m for m in messages if m["In-Reply-To"]]
    threaded = [m for m in replies if m["In-Reply-To"] in ids_seen]
    assert len(threaded) > len(messages) / 3
    subjects = [str(make_header(decode_header(m["Subject"]))) for m in threaded]
    assert all(re.match(r"(Re|RE|AW|RES): ", subject) for subject in subjects)
    assert all(len(m["References"].split()) >= 1 for m in threaded)
    kinds = {m.get_content_type() for m in messages}
    assert {"text/plain", "text/html", "multipart/alternative", "multipart/mixed"} <= kinds
    charsets = {p.get_content_charset() for m in messages for p in m.walk()}
    assert {"utf-8", "iso-8859-1", "windows-1252"} <= charsets
    assert any(p.get_filename() for m in messages for p in m.walk())


def test_some_mail_is_broken(data) -> None:
    root, _, _ = data
    messages = _mail(root)
    missing = [m for m in messages if not (m["Date"] and m["From"] and m["Message-ID"])]
    damaged = [m for m in messages if any(p.defects for p in m.walk())]
    assert missing and damaged
    assert len(missing) + len(damaged) < len(messages) / 20


def test_the_data_is_messy(data) -> None:
    root, _, _ = data
    leads = _csv(root, "Lead.csv")
    valid = leads["Email"].str.fullmatch(r"[^@\s,]+@[^@\s,]+\.[a-z]{2,}", case=False)
    assert 0.005 < 1 - valid.mean() < 0.06
    assert (leads["Email"] != leads["Email"].str.strip()).any()
    assert (leads["Email"] != leads["Email"].str.lower()).any()
    phone_shapes = leads["Phone"].str.replace(r"\d", "9", regex=True)
    assert phone_shapes.nunique() > 10 and (leads["Phone"] == "").mean() > 0.1
    contacts = _csv(root, "Contact.csv")
    assert contacts.drop(columns="Id").duplicated().any()  # same record twice in one source
    opportunities = _csv(root, "Opportunity.csv")
    amounts = pd.to_numeric(opportunities["Amount"], errors="coerce")
    assert (amounts.isna() & (opportunities["Amount"] != "")).any()
    close = opportunities["CloseDate"]
    assert (~close.str.fullmatch(r"\d{4}-\d{2}-\d{2}")).any()
    hubspot = pd.Series([r["properties"]["email"] for r in _hubspot(root, "contacts")])
    assert hubspot.str.contains("+", regex=False).any()


def test_people_appear_in_several_sources_spelt_differently(data) -> None:
    root, _, _ = data

    def norm(emails: pd.Series) -> pd.Series:
        return emails.str.strip().str.lower().str.replace(r"\+[^@]*@", "@", regex=True)

    leads = _csv(root, "Lead.csv")["Email"]
    hubspot = pd.Series([r["properties"]["email"] for r in _hubspot(root, "contacts")]).dropna()
    forms = pd.Series([f["fields"]["email"] for f in _jsonl(root / "webforms" /
                                                              "submissions.jsonl")])
    shared = set(norm(leads)) & set(norm(hubspot)) & set(norm(forms))
    assert len(shared) > SCALE / 20
    raw_pairs = set(zip(norm(hubspot), hubspot, strict=True))
    by_norm = dict(zip(norm(leads), leads, strict=True))
    assert any(by_norm.get(n, raw) != raw for n, raw in raw_pairs if n in by_norm)


def _lead_features(root: Path) -> tuple[pd.DataFrame, pd.Series]:
    """Raw Lead fields plus touchpoints per email: what a first lead score would use."""
    leads = _csv(root, "Lead.csv")
    events = pd.DataFrame(_jsonl(root / "touchpoints" / "events.jsonl")).dropna(subset=["email"])
    events["key"] = events["email"].str.strip().str.lower()
    per_type = events.groupby(["key", "event_type"]).size().unstack(fill_value=0)
    key = leads["Email"].str.strip().str.lower()
    features = pd.DataFrame({f"n_{t}": np.log1p(key.map(per_type[t]).fillna(0))
                             for t in per_type.columns})
    employees = pd.to_numeric(leads["NumberOfEmployees"], errors="coerce")
    size = np.log10(employees.fillna(employees.median()))
    features["size"], features["size2"] = size, (size - size.mean()) ** 2
    title = leads["Title"].str.lower()
    for word in ("chief", "vp", "director", "manager", "intern", "student", "revenue",
                 "sales", "marketing", "data", "hr"):
        features[f"title_{word}"] = title.str.contains(word, regex=False).astype(int)
    dummies = pd.get_dummies(leads[["LeadSource", "Industry"]], dtype=int)
    return pd.concat([features, dummies], axis=1), (leads["IsConverted"] == "true").astype(int)


def test_conversion_is_learnable_from_raw_fields_but_not_given_away(data) -> None:
    root, _, _ = data
    leads = _csv(root, "Lead.csv")
    rate = (leads["IsConverted"] == "true").groupby(leads["LeadSource"]).mean()
    assert rate[["Employee Referral", "Partner Referral"]].min() > \
        2 * rate[["Purchased List", "Cold Call"]].max()
    by_industry = (leads["IsConverted"] == "true").groupby(leads["Industry"]).mean()
    assert by_industry["Technology"] > by_industry[["Education", "Nonprofit"]].max()
    assert 0.1 < rate.mul(leads["LeadSource"].value_counts(normalize=True)).sum() < 0.35

    features, converted = _lead_features(root)
    auc = cross_val_score(LogisticRegression(max_iter=2_000), features, converted, cv=5,
                          scoring="roc_auc").mean()
    assert 0.65 < auc < 0.9, auc


def test_opportunities_win_at_a_realistic_rate(data) -> None:
    root, _, _ = data
    opportunities = _csv(root, "Opportunity.csv")
    closed = opportunities[opportunities["IsClosed"] == "true"]
    assert 0.15 < (closed["IsWon"] == "true").mean() < 0.35
    history = _csv(root, "OpportunityHistory.csv")
    stages = history.groupby("OpportunityId")["StageName"].first()
    assert (stages == "Prospecting").mean() > 0.95
    assert set(opportunities["ForecastCategoryName"]) <= {
        "Pipeline", "Best Case", "Commit", "Closed", "Omitted"}


@pytest.mark.parametrize("scale", [99, 1_000_001, 2000.0, True])
def test_scale_out_of_range_is_refused(tmp_path: Path, scale) -> None:
    with pytest.raises(SalesopsError, match="scale"):
        generate(tmp_path, scale, 1)


@pytest.mark.parametrize("mine", ["notes.txt", "mail"])
def test_a_folder_with_other_files_is_left_alone(tmp_path: Path, mine: str) -> None:
    (tmp_path / mine).write_text("mine")
    with pytest.raises(SalesopsError, match="not demo data"):
        generate(tmp_path, 100, 1)
    assert (tmp_path / mine).read_text() == "mine"
