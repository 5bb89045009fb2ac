"""Every connector reads the generated demo data set: one record per row the manifest counts."""

from __future__ import annotations

from pathlib import Path

import pytest

from connectors import hubspot_files, mail, salesforce_export, touchpoints, webforms


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, int]]:
    generator = pytest.importorskip("salesops.demo")
    out = tmp_path_factory.mktemp("demo")
    manifest = generator.generate(out, 100, 3)
    return out, manifest["counts"]


def _rows(batches) -> tuple[int, int]:
    batches = list(batches)
    return sum(len(b.records) for b in batches), sum(len(b.rejects) for b in batches)


def test_salesforce_files(demo):
    out, counts = demo
    for batch in salesforce_export.read_export(out / "salesforce"):
        stem = Path(batch.origin).stem
        assert len(batch) == counts[f"salesforce/{stem}.csv"], stem
        assert all(r["source_key"] == r["Id"] for r in batch.records)


def test_hubspot_pages(demo):
    out, counts = demo
    for batch in hubspot_files.read_folder(out / "hubspot"):
        expected = sum(n for k, n in counts.items() if k.startswith(f"hubspot/{batch.entity}/"))
        assert (len(batch.records), batch.rejects) == (expected, [])


def test_jsonl_and_mail(demo):
    out, counts = demo
    assert sum(_rows(webforms.read_submissions(out / "webforms" / "submissions.jsonl"))) \
        == counts["webforms/submissions.jsonl"]
    assert sum(_rows(touchpoints.read_events(out / "touchpoints" / "events.jsonl"))) \
        == counts["touchpoints/events.jsonl"]
    records, rejects = _rows(mail.read_mail(out / "mail"))
    assert records + rejects == counts["mail/sales.mbox"] + counts["mail/Maildir"]
    assert records >= 0.9 * (records + rejects)
