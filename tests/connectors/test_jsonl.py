"""Web forms and touchpoints: JSON lines, bad lines quarantined with their line number."""

from __future__ import annotations

from connectors.touchpoints import read_events
from connectors.webforms import read_submissions


def test_webform_submissions(tmp_path):
    path = tmp_path / "submissions.jsonl"
    path.write_bytes(b'{"submission_id": "s1", "fields": {"email": "a@example.com"}}\n'
                     b"\n"
                     b'{"submission_id": "s2", "fields": \n'
                     b'["not", "an", "object"]\n'
                     b'{"form_key": "demo"}\n'
                     b'{"submission_id": "s3", "fields": {"first_name": "Ren\xc3\xa9"}}\n'
                     b'{"submission_id": "s4", "x": "\xff"}\n')
    [batch] = read_submissions(path)
    assert (batch.source, batch.entity) == ("webforms", "submissions")
    assert [r["source_key"] for r in batch.records] == ["s1", "s3"]
    assert batch.records[1]["fields"]["first_name"] == "René"
    reasons = [r.reason for r in batch.rejects]
    assert reasons[0].startswith("line 3: invalid JSON")
    assert reasons[1:3] == ["line 4: not a JSON object", "line 5: no submission_id"]
    assert reasons[3].startswith("line 7: invalid JSON")
    assert batch.rejects[0].record == {"line": 3, "text": '{"submission_id": "s2", "fields": '}


def test_touchpoint_events(tmp_path):
    path = tmp_path / "events.jsonl"
    path.write_text('{"event_id": 7, "event_type": "ad_click", "cost": 1.5}\n{oops}\n')
    [batch] = read_events(path)
    assert batch.records == [{"event_id": 7, "event_type": "ad_click", "cost": 1.5,
                              "source_key": "7"}]
    assert batch.rejects[0].reason.startswith("line 2: invalid JSON")
