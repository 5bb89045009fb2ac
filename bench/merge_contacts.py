"""Contact merge: N raw person records, 10% of them duplicates of a person held by the other
source, merged into `app.contacts` by `salesops.merge` (the contacts step), timed; the
duplicate detection is scored against the generator's ground truth (pairwise precision and
recall: a pair of records is a predicted duplicate when they became one contact).

    python -m bench.merge_contacts [--scale N]

Records: persons are split 70/30 between Salesforce contacts and HubSpot contacts; each
duplicate is the person again in the other source, spelled the way a second system does:
the e-mail upper-cased with spaces (40%), with a `+tag` (30%), missing with the phone
written another way (15%, which only the phone rule can match), or missing with no phone
and the last name misspelt (15%, which only the name + company rule can match). Salesforce
contacts name their company through AccountId (the accounts are merged before, untimed).
The baseline is the bare work of the step: the same records grouped by lower(trim(email))
into a new table.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import sqlalchemy as sa

from bench.database import peak_rss_mb, scratch_database
from bench.people import people
from salesops.db import get_engine
from salesops.loading import canonical_json, content_hash, fields_hash
from salesops.merge import merge_entity

DUPLICATE_SHARE = 0.1


Record = tuple[str, str, str, int, dict[str, Any]]


def records(n: int, seed: int = 1) -> Iterator[Record]:
    """(source, entity, source_key, person, record) for `n` records; 10% are duplicates."""
    rng = np.random.default_rng(seed)
    dups = int(n * DUPLICATE_SHARE)
    p = people(n - dups, seed)
    in_hubspot = rng.random(len(p)) < 0.3
    twin = rng.choice(len(p), dups, replace=False)
    kind = rng.random(dups)
    rows = p.to_dict("records")
    for i, row in enumerate(rows):
        yield _record(row, bool(in_hubspot[i]), f"{i}", row["email"], row["phone"])
    for j, (i, k) in enumerate(zip(twin, kind, strict=True)):
        row = rows[i]
        email, phone = row["email"], row["phone"]
        if k < 0.4:
            email = f"  {email.upper()} "
        elif k < 0.7:
            local, domain = email.split("@")
            email = f"{local}+crm@{domain}"
        elif k < 0.85:
            email = ""
            phone = f"({phone[2:5]}) {phone[5:8]}-{phone[8:]}"
        else:
            email = phone = ""
            row = {**row, "last_name": row["last_name"][:-1]}
        yield _record(row, not in_hubspot[i], f"d{j}", email, phone)


def _record(row: dict[str, Any], hubspot: bool, key: str, email: str, phone: str) -> Record:
    if hubspot:
        key = f"hs{key}"
        return ("hubspot", "contacts", key, row["person"], {
            "id": key, "createdAt": "2025-01-02T03:04:05Z", "updatedAt": "2025-02-03T04:05:06Z",
            "properties": {"email": email, "firstname": row["first_name"],
                           "lastname": row["last_name"], "phone": phone,
                           "company": row["company"], "lifecyclestage": "lead"}})
    key = f"003B{int(key.lstrip('d')) * 2 + key.startswith('d'):014d}"
    return ("salesforce", "contact", key, row["person"], {
        "Id": key, "AccountId": _account_key(row["company"]), "FirstName": row["first_name"],
        "LastName": row["last_name"], "Email": email, "Phone": phone,
        "CreatedDate": "2025-01-02T03:04:05.000+0000",
        "LastModifiedDate": "2025-02-03T04:05:06.000+0000", "IsDeleted": "false"})


#: The fields of a generated Salesforce contact (`_record`), in its order.
SF_FIELDS = ("Id", "AccountId", "FirstName", "LastName", "Email", "Phone", "CreatedDate",
             "LastModifiedDate", "IsDeleted")


def _account_key(company: str) -> str:
    return f"001B{int(company.removeprefix('Company ')):014d}"


def seed(engine: sa.Engine, n: int) -> None:
    """The raw tables and the truth table, by COPY, and the accounts merged (not timed)."""
    batch = uuid.uuid4()
    hubspot: list[tuple] = []
    truth: list[tuple[str, str, int]] = []
    with engine.begin() as conn:
        conn.execute(sa.text("insert into ops.load_batches (batch_id, source, entity, status)"
                             " values (:b, 'bench', 'contacts', 'loaded')"), {"b": batch})
        conn.execute(sa.text("create table bench_truth (source text, source_key text primary key,"
                             " person bigint)"))
        cur = conn.connection.driver_connection.cursor()
        columns = "(batch_id, source, source_key, content_hash, record)"
        # Salesforce's raw tables hold a field a column, as the loader makes them.
        fields = ", ".join(f'"{f}"' for f in SF_FIELDS)
        conn.execute(sa.text("alter table raw.salesforce__contact "
                             + ", ".join(f'add column "{f}" text' for f in SF_FIELDS)))
        with cur.copy("copy raw.salesforce__contact (batch_id, source, source_key, "
                      f"content_hash, {fields}) from stdin") as copy:
            for source, entity, key, person, record in records(n):
                data = canonical_json(record)
                if source == "hubspot":
                    hubspot.append((batch, source, key, content_hash(data), data.decode()))
                else:
                    copy.write_row((batch, source, key, fields_hash(record),
                                    *(record[f] for f in SF_FIELDS)))
                truth.append((f"{source}.{entity.removesuffix('s')}", key, int(person)))
        for table, rows in (("raw.hubspot__contacts", hubspot), ("bench_truth", truth)):
            cols = columns if table.startswith("raw") else ""
            with cur.copy(f"copy {table} {cols} from stdin") as copy:
                for row in rows:
                    copy.write_row(row)
        conn.execute(sa.text('alter table raw.salesforce__account add column "Id" text, '
                             'add column "Name" text'))
        conn.execute(sa.text("""
            insert into raw.salesforce__account (batch_id, source, source_key, content_hash,
                                                 "Id", "Name")
            select :b, 'salesforce', key, md5(key)::uuid, key, 'Company ' || substr(key, 5)::bigint
            from (select distinct "AccountId" as key from raw.salesforce__contact) a"""),
                     {"b": batch})
    with engine.begin() as conn:
        conn.execute(sa.text("analyze"))
    merge_entity(engine, "accounts")


def bare_grouping(engine: sa.Engine) -> int:
    """The floor: the same records grouped by trimmed, lower-cased e-mail into a table."""
    with engine.begin() as conn:
        conn.execute(sa.text("drop table if exists bench_grouped"))
        conn.execute(sa.text("""
            create table bench_grouped as
            select lower(btrim(email)) as email, count(*) as records from (
              select "Email" as email from raw.salesforce__contact
              union all
              select record->'properties'->>'email' from raw.hubspot__contacts) r
            group by 1"""))
        return int(conn.execute(sa.text("select sum(records) from bench_grouped")).scalar())


def _pairs(conn: sa.Connection, relation: str, by: str) -> int:
    """Pairs of records that share `by` in `relation`."""
    return int(conn.execute(sa.text(
        f"select coalesce(sum(n * (n - 1) / 2), 0) from (select count(*) as n from {relation}"
        f" group by {by}) g")).scalar())


def score(engine: sa.Engine) -> tuple[float, float, int, int]:
    """Pairwise precision and recall of the duplicates found; true and predicted pairs."""
    both = ("(select t.person, s.contact_id from bench_truth t"
            " join app.contact_sources s using (source, source_key)) m")
    with engine.connect() as conn:
        found = _pairs(conn, both, "person, contact_id")
        predicted = _pairs(conn, "app.contact_sources", "contact_id")
        actual = _pairs(conn, "bench_truth", "person")
    return (found / predicted if predicted else 1.0), (found / actual if actual else 1.0), \
        actual, predicted


def run(url: str, scale: int) -> dict:
    engine = get_engine(url)
    start = time.perf_counter()
    seed(engine, scale)
    print(f"seeded {scale:,} raw records in {time.perf_counter() - start:.1f} s",
          file=sys.stderr)
    start = time.perf_counter()
    counts = merge_entity(engine, "contacts")
    ours_s = time.perf_counter() - start
    print(f"merge: {counts} in {ours_s:.2f} s", file=sys.stderr)
    start = time.perf_counter()
    grouped = bare_grouping(engine)
    base_s = time.perf_counter() - start
    print(f"bare grouping: {grouped} records in {base_s:.2f} s", file=sys.stderr)
    precision, recall, actual, predicted = score(engine)
    print(f"duplicate pairs: {actual:,} true, {predicted:,} found; precision {precision:.4f},"
          f" recall {recall:.4f}", file=sys.stderr)
    engine.dispose()
    return {"bench": "merge_contacts", "scale": scale, "value": round(scale / ours_s),
            "unit": "records/s", "baseline": "bare group by e-mail",
            "baseline_value": round(grouped / base_s), "ratio": round(base_s / ours_s, 3),
            "peak_rss_mb": peak_rss_mb(), "seconds": round(ours_s, 2),
            "precision": round(precision, 4), "recall": round(recall, 4)}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.merge_contacts",
                                     description="Merge raw contacts into app, timed, scored.")
    parser.add_argument("--scale", type=int, default=200_000,
                        help="raw person records (default 200,000)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="bench-merge-") as tmp, \
            scratch_database(Path(tmp), "bench_merge") as url:
        result = run(url, args.scale)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
