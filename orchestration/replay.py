"""Turn quarantined rows, as stored or as a person fixed them, back into loadable records.

Each source's rule for its key is the connector's own: Salesforce `Id`, HubSpot `id`,
`submission_id` / `event_id` for the JSON-lines sources, and for mail the message is parsed
again from its raw text. Mapped-file rows need their mapping: they are fixed in the file and
the file is loaded again (rows already loaded add nothing).
"""

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from connectors import mail
from connectors.records import Rejected
from salesops.errors import SalesopsError
from salesops.loading import LoadResult
from salesops.rejects import Reject, replay

KEY_FIELDS = {"salesforce": "Id", "hubspot": "id", "webforms": "submission_id",
              "touchpoints": "event_id"}
#: Where a reader noted the reject's place in its file: not part of the record.
LOCATION_FIELDS = ("line", "row", "origin", "file", "index", "_extra")


@dataclass(frozen=True)
class Replayed:
    source: str
    entity: str
    result: LoadResult
    resolved: int
    asked: int


def rebuild(reject: Reject, fixed: Mapping[str, Any] | None) -> dict[str, Any]:
    """The record to load for `reject`: `fixed` if given, else the stored one, with its key."""
    record = dict(fixed if fixed is not None else reject.record or {})
    where = f"reject {reject.id} ({reject.source}.{reject.entity})"
    if reject.source == "mapped":
        raise SalesopsError(f"{where}: mapped-file rows are replayed by fixing the file and "
                            "running `salesops ingest mapped` again")
    if reject.source == "email":
        if not record.get("raw"):
            raise SalesopsError(f"{where}: no raw message text to parse again")
        item = mail.read_message(str(record["raw"]).encode("utf-8", "surrogateescape"), {}, {})
        if isinstance(item, Rejected):
            raise SalesopsError(f"{where}: still not a readable message: {item.reason}")
        return {**item, **({"imap": record["imap"]} if record.get("imap") else {})}
    if set(record) <= {"line", "text"} and record.get("text"):  # a JSON line that did not parse
        try:
            record = json.loads(record["text"])
        except ValueError as exc:
            raise SalesopsError(f"{where}: the text is still not JSON: {exc}") from None
        if not isinstance(record, dict):
            raise SalesopsError(f"{where}: the text is not a JSON object")
    extra = record.get("_extra")
    if extra:
        raise SalesopsError(f"{where}: the row still has values beyond the header ({extra!r}): "
                            "clear the _extra column once they are in their own columns")
    record = {k: v for k, v in record.items() if k not in LOCATION_FIELDS}
    field = KEY_FIELDS.get(reject.source, "source_key")
    key = record.get(field) or record.get("source_key")
    key = str(key).strip() if key is not None else ""
    if not key:
        raise SalesopsError(f"{where}: {field} is empty: fill it in and replay again")
    return {**record, "source_key": key}


def replay_rejects(engine: sa.Engine, rejects: Sequence[Reject],
                   fixed: Mapping[int, Mapping[str, Any]] | None = None) -> list[Replayed]:
    """Load the rejects (as fixed) in one batch per source entity. Every record is rebuilt
    first, so a problem in any of them stops the replay before anything is loaded."""
    groups: dict[tuple[str, str], list[tuple[int, dict[str, Any]]]] = {}
    for reject in rejects:
        record = rebuild(reject, None if fixed is None else fixed[reject.id])
        groups.setdefault((reject.source, reject.entity), []).append((reject.id, record))
    out = []
    for (source, entity), items in groups.items():
        result, resolved = replay(engine, source, entity, items)
        out.append(Replayed(source, entity, result, resolved, len(items)))
    return out
