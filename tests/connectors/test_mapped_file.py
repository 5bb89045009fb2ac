"""Any CRM's CSV or XLSX export through a YAML column mapping: clear mapping errors, canonical
records, unmapped columns kept, bad values quarantined with row, column, value and type."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
import yaml

from connectors.mapped_file import MappedFileError, read_mapped
from connectors.mapping.fields import FIELDS, RECORD_KEYS
from connectors.mapping.spec import MappingError, load_mapping, parse_mapping
from salesops.errors import SalesopsError

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"

DEALS_YAML = """
source: old_crm
entity: deals
format: {delimiter: ";"}
key: Deal ID
missing: ["", "NA", "Select"]
columns:
  Deal ID: external_id
  Title: name
  Stage:
    - stage
    - field: is_won
      values: {Closed Won: true, "*": false}
  Value: {field: amount, type: float}
  Chance: {field: probability, optional: true}
  Close: close_date
  Opened: created_at
  Source: lead_source
values:
  stage: {Select: null, Closed Won: won, Closed Lost: lost, Negotiation: negotiation}
  lead_source: {web: Website, "1": Partner}
dates:
  close_date: "%d-%m-%Y"
  created_at: ["%d/%m/%Y %H:%M", "%Y-%m-%d"]
"""

DEALS_CSV = (
    "\ufeffDeal ID;Title;Stage;Value;Chance;Close;Opened;Source;Region;Notes\n"
    "D1;Big deal;Closed Won;1200.50;0.9;31-01-2024;05/01/2024 09:30;web;EMEA;\"two\nlines\"\n"
    "D2;Small;Select;NA;high;;2024-01-07;1;NA;\n"
    "D3;Broken;Negotiation;lots;0.5;2024-02-30;;web;APAC;\n"
    "D4;Short;Closed Lost\n"
    ";No key;Closed Lost;1;;;;;;\n"
    "D1;Again;Closed Lost;5;;;;;;\n"
    "\n"
    "D5;Lost one;Closed Lost;10;0.1;01-03-2024;;x;US;=cmd|' /C calc'!A0\n"
)


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8", newline="")
    return path


def _read(data: Path, mapping, **kw) -> tuple[list[dict], list]:
    records, rejects = [], []
    for batch in read_mapped(data, mapping, **kw):
        assert batch.source == "mapped"
        records += batch.records
        rejects += batch.rejects
    return records, rejects


def _mapping(text: str, tmp_path: Path, name: str = "m.yaml"):
    return load_mapping(_write(tmp_path, name, text))


# --- the mapping file ---------------------------------------------------------------------

BASE = {"source": "x", "entity": "leads", "key": "id", "columns": {"Mail": "email"}}


@pytest.mark.parametrize(("change", "expected"), [
    ({"entity": "lead"}, "entity: Input should be 'accounts', 'contacts', 'leads', 'deals' or "
                         "'touchpoints'; got 'lead'"),
    ({"columns": {"Mail": "emial"}}, "columns.'Mail': 'emial' is not a leads field; leads fields "
                                     "are: external_id, owner"),
    ({"columns": {"Mail": {"field": "email", "type": "integer"}}},
     "columns.Mail.0.type: Input should be 'str', 'int', 'float', 'bool', 'date' or 'datetime'; "
     "got 'integer'"),
    ({"types": {"email": "number"}}, "types.email: Input should be 'str', 'int'"),
    ({"columns": {"Mail": {"field": "email", "optinal": True}}},
     "unknown key 'optinal'; allowed keys: field, type, format, values, optional"),
    ({"colums": {}}, "unknown key 'colums'; allowed keys: source, entity, format, key"),
    ({"values": {"stage": {"a": "b"}}}, "values.stage: 'stage' is not a leads field"),
    ({"values": {"status": {"a": "b"}}}, "values.status: 'status' is not mapped from any column"),
    ({"columns": {"Mail": "email", "E-mail": "email"}},
     "field 'email' is already mapped from column 'Mail'"),
    ({"columns": {"Mail": "email", "At": "created_at"}, "dates": {"created_at": "d-m-Y"}},
     "dates.created_at: 'd-m-Y' is not a strftime format"),
    ({"dates": {"email": "%Y"}}, "dates.email: email is a str field"),
    ({"format": {"encoding": "utf-9"}}, "encoding 'utf-9' is unknown"),
    ({"format": {"delimiter": ";;"}}, "format.delimiter: String should have at most 1 character"),
    ({"key": None}, "key"),
])
def test_mapping_mistakes_name_the_key_and_what_is_allowed(change, expected):
    data = {**BASE, **change}
    with pytest.raises(MappingError) as err:
        parse_mapping({k: v for k, v in data.items() if v is not None or k != "key"})
    assert expected in str(err.value)
    assert isinstance(err.value, SalesopsError)


def test_missing_required_keys_and_bad_yaml(tmp_path):
    with pytest.raises(MappingError, match="entity: is required; .*key: is required"):
        parse_mapping({"source": "x", "columns": {}})
    with pytest.raises(MappingError, match="not valid YAML"):
        _mapping("source: [x\n", tmp_path)
    with pytest.raises(MappingError, match="must be a YAML mapping"):
        _mapping("- a\n- b\n", tmp_path)
    with pytest.raises(MappingError, match="cannot read mapping"):
        load_mapping(tmp_path / "absent.yaml")


def test_yes_no_keys_stay_text(tmp_path):
    m = _mapping("source: s\nentity: contacts\nkey: id\ncolumns: {Opt: do_not_email}\n"
                 "values: {do_not_email: {Yes: true, NO: false, 1: true}}\n", tmp_path)
    assert m.rules[0].values == {"Yes": True, "NO": False, "1": True}


# --- CSV -----------------------------------------------------------------------------------

def test_csv_records_value_maps_dates_extra_and_rejects(tmp_path):
    data = _write(tmp_path, "deals.csv", DEALS_CSV)
    records, rejects = _read(data, _mapping(DEALS_YAML, tmp_path))
    by_key = {r["source_key"]: r for r in records}
    assert sorted(by_key) == ["D1", "D2", "D5"]
    assert len(records) + len(rejects) == 7  # every non-blank data row, one way or the other

    d1 = by_key["D1"]
    assert set(d1) == set(FIELDS["deals"]) | set(RECORD_KEYS)
    assert d1 | {"extra": None} == d1 | {
        "origin_system": "old_crm", "external_id": "D1", "name": "Big deal",
        "stage": "won", "is_won": True, "amount": 1200.5, "probability": 0.9,
        "close_date": "2024-01-31", "created_at": "2024-01-05T09:30:00",
        "lead_source": "Website", "owner": None, "extra": None, "_warnings": []}
    assert d1["extra"] == {"Region": "EMEA", "Notes": "two\nlines"}

    d2 = by_key["D2"]  # row 3 of the sheet, line 4 of the file (D1 spans two lines)
    assert d2["stage"] is None and d2["is_won"] is None  # 'Select' is missing, for both fields
    assert d2["amount"] is None and d2["close_date"] is None  # NA and empty
    assert d2["created_at"] == "2024-01-07T00:00:00"  # the second format
    assert d2["lead_source"] == "Partner"  # a numeric-looking value-map key
    assert d2["probability"] is None  # optional: bad value -> null, with a warning
    assert d2["_warnings"] == ["column 'Chance' -> probability: 'high' is not a float; "
                               "set to null"]
    assert d2["extra"] == {"Region": None, "Notes": None}
    d5 = by_key["D5"]
    assert d5["lead_source"] == "x"  # not in the value map: kept as written
    assert d5["stage"] == "lost" and d5["is_won"] is False  # "*" in is_won's value map
    assert d5["extra"]["Notes"] == "=cmd|' /C calc'!A0"  # data, never evaluated

    reasons = {r.source_key: r.reason for r in rejects}
    assert reasons["D3"] == ("row 4 (line 5): column 'Value' -> amount: 'lots' is not a float; "
                             "column 'Close' -> close_date: '2024-02-30' is not a date in "
                             "format '%d-%m-%Y'")
    assert reasons[None] == "row 6 (line 7): key column 'Deal ID' is empty"
    assert reasons["D1"] == "row 7 (line 8): duplicate key 'D1' (first at row 2)"
    short = next(r for r in rejects if "values, the header" in r.reason)
    assert short.reason == "row 5 (line 6): 3 values, the header has 10 columns"
    assert short.record == {"row": 5, "line": 6, "values": ["D4", "Short", "Closed Lost"]}
    d3 = next(r for r in rejects if r.source_key == "D3")
    assert d3.record["values"]["Value"] == "lots" and d3.record["row"] == 4


def test_key_from_several_columns_and_row_number(tmp_path):
    data = _write(tmp_path, "c.csv", "Org,Mail,Name\nA,a@x.io,Ann\nB,a@x.io,Bob\n")
    m = parse_mapping({"source": "s", "entity": "contacts", "key": ["Org", "Mail"],
                       "columns": {"Mail": "email", "Name": "first_name"}})
    records, _ = _read(data, m)
    assert [r["source_key"] for r in records] == ["A|a@x.io", "B|a@x.io"]
    assert records[0]["extra"] == {"Org": "A"}  # key columns not mapped are kept too
    m = parse_mapping({"source": "s", "entity": "contacts", "key": "row_number",
                       "columns": {"Mail": "email"}})
    records, _ = _read(data, m)
    assert [r["source_key"] for r in records] == ["2", "3"]


def test_rows_in_another_order_give_the_same_records(tmp_path):
    """Records carry no row number, so a re-export in another order hashes the same."""
    m = parse_mapping({"source": "s", "entity": "accounts", "key": "Id",
                       "columns": {"Mail": "domain",
                                   "Score": {"field": "employees", "optional": True}}})
    rows = ["1,a@x.io,5", "2,b@x.io,bad", "3,c@x.io,"]
    one, _ = _read(_write(tmp_path, "a.csv", "Id,Mail,Score\n" + "\n".join(rows)), m)
    two, _ = _read(_write(tmp_path, "b.csv", "Id,Mail,Score\n" + "\n".join(rows[::-1])), m)
    assert sorted(one, key=str) == sorted(two, key=str)
    assert one[1]["_warnings"] == ["column 'Score' -> employees: 'bad' is not an int; set to null"]


def test_required_types_scale_and_chunks(tmp_path):
    rows = "".join(f"{i},{i * 1.5},{'' if i == 3 else 'x'}\n" for i in range(1, 8))
    data = _write(tmp_path, "a.csv", "id,rev,name\n" + rows)
    m = parse_mapping({"source": "s", "entity": "accounts", "key": "id", "required": ["name"],
                       "columns": {"id": {"field": "employees"}, "name": "name",
                                   "rev": {"field": "annual_revenue", "scale": 1000}}})
    batches = list(read_mapped(data, m, chunk_size=3))
    assert [len(b) for b in batches] == [3, 3, 1]
    records = [r for b in batches for r in b.records]
    assert records[0]["employees"] == 1 and records[0]["annual_revenue"] == 1500.0
    [reject] = [r for b in batches for r in b.rejects]
    assert reject.reason == "row 4: column 'name' -> name: is required but empty"
    bad_int = _write(tmp_path, "b.csv", "id,n\n1,2.5\n2,3.0\n")
    m = parse_mapping({"source": "s", "entity": "accounts", "key": "id",
                       "columns": {"n": "employees"}})
    records, rejects = _read(bad_int, m)
    assert records[0]["employees"] == 3
    assert rejects[0].reason == "row 2: column 'n' -> employees: '2.5' is not a whole number (int)"


def test_file_problems_are_clear_errors(tmp_path):
    m = parse_mapping({"source": "s", "entity": "leads", "key": "Id",
                       "columns": {"Email": "email"}})
    with pytest.raises(MappedFileError, match=r"column 'Email' named in the mapping is not in "
                                              r"the file; did you mean 'E-mail'\?"):
        list(read_mapped(_write(tmp_path, "a.csv", "Id,E-mail\n1,a@b.c\n"), m))
    with pytest.raises(MappedFileError, match="is format.delimiter right"):
        list(read_mapped(_write(tmp_path, "b.csv", "Id;Email\n1;a@b.c\n"), m))
    with pytest.raises(MappedFileError, match="column 'Email' appears 2 times"):
        list(read_mapped(_write(tmp_path, "c.csv", "Id,Email,Email\n1,a,b\n"), m))
    latin = tmp_path / "d.csv"
    latin.write_bytes("Id,Email\n1,jos\u00e9@b.c\n".encode("latin-1"))
    with pytest.raises(MappedFileError, match="not valid utf-8 .*set format.encoding"):
        list(read_mapped(latin, m))
    records, _ = _read(latin, parse_mapping({**m.model_dump(), "format": {"encoding": "latin-1"}}))
    assert records[0]["email"] == "jos\u00e9@b.c"
    with pytest.raises(MappedFileError, match="set format.type"):
        list(read_mapped(_write(tmp_path, "e.dat", "Id,Email\n"), m))


def test_unmapped_duplicate_headers_are_kept(tmp_path):
    data = _write(tmp_path, "a.csv", "Id,Note,Note\n1,a,b\n")
    m = parse_mapping({"source": "s", "entity": "leads", "key": "Id", "columns": {}})
    records, _ = _read(data, m)
    assert records[0]["extra"] == {"Id": "1", "Note": "a", "Note (2)": "b"}


# --- XLSX ----------------------------------------------------------------------------------

def test_xlsx_native_cells(tmp_path):
    import datetime as dt

    import openpyxl

    book = openpyxl.Workbook()
    book.active.title = "Notes"
    sheet = book.create_sheet("Leads")
    sheet.append(["Exported from OtherCRM"])
    sheet.append(["Lead #", "Email", "Employees", "Won?", "Created", "Score", None, "Extra"])
    sheet.append([101, "a@x.io", 250.0, "Yes", dt.datetime(2024, 3, 1, 8, 0), 0.5, None, 7])
    sheet.append([102, "b@x.io", "many", True, "01.03.2024", None])
    sheet.append([None, None, None])  # an empty row is not a row of data
    sheet.append([103, "c@x.io", 12, 0, "2024-03-05", "NA", None, None, "stray"])
    path = tmp_path / "leads.xlsx"
    book.save(path)

    m = parse_mapping({
        "source": "other_crm", "entity": "leads", "key": "Lead #",
        "format": {"sheet": "Leads", "header_row": 2}, "missing": ["", "NA"],
        "columns": {"Lead #": "external_id", "Email": "email", "Employees": "employees",
                    "Won?": "converted", "Created": "created_at"},
        "dates": {"created_at": ["%d.%m.%Y"]},
    })
    batches = list(read_mapped(path, m))
    assert batches[0].origin.endswith("leads.xlsx!Leads")
    records = [r for b in batches for r in b.records]
    rejects = [r for b in batches for r in b.rejects]
    assert [r["source_key"] for r in records] == ["101"]
    r = records[0]
    assert (r["external_id"], r["employees"], r["converted"], r["created_at"]) == (
        "101", 250, True, "2024-03-01T08:00:00")
    assert r["extra"] == {"Score": 0.5, "column G": None, "Extra": 7}
    reasons = sorted(x.reason for x in rejects)
    assert reasons == [
        "row 4: column 'Employees' -> employees: 'many' is not an int",
        "row 6: 9 values, the header has 8 columns",
    ]
    with pytest.raises(MappedFileError, match=r"no sheet 'Deals'; sheets: \['Notes', 'Leads'\]"):
        list(read_mapped(path, parse_mapping({**m.model_dump(), "format": {"sheet": "Deals"}})))


# --- the example mappings on the real files -------------------------------------------------

def _load_example(shared_data: Path, data: str, mapping: str) -> tuple[list[dict], list]:
    return _read(shared_data / data, EXAMPLES / mapping)


def test_x_education_leads(shared_data):
    records, rejects = _load_example(shared_data, "leads/x_education/Leads.csv",
                                     "x_education_leads.yaml")
    assert len(records) + len(rejects) == 9240
    assert rejects == []
    assert len({r["source_key"] for r in records}) == len(records)
    converted = sum(r["converted"] for r in records) / len(records)
    assert converted == pytest.approx(0.3854, abs=0.0005)
    # 'Select' is missing: Specialization 1,942 + 1,438 empty; City 2,249 + 1,420 empty
    assert sum(r["industry"] is None for r in records) == 1942 + 1438
    assert sum(r["city"] is None for r in records) == 2249 + 1420
    assert not any(r["city"] == "Select" or r["extra"]["Lead Profile"] == "Select"
                   for r in records)
    sources = Counter(r["lead_source"] for r in records)
    assert sources["Google"] == 2868 + 5 and "google" not in sources
    first = records[0]
    assert first["source_key"] == "7927b2df-8bba-4d29-b9a2-b6e0beafe620"
    assert first["origin_system"] == "x_education"
    # sales-entered columns are kept as they are, for the model to judge
    assert first["extra"]["Tags"] == "Interested in other courses"
    assert first["extra"]["Lead Quality"] == "Low in Relevance"
    assert len(first["extra"]) == 37 - 8  # every column not mapped


def test_maven_crm_deals_and_accounts(shared_data):
    deals, rejects = _load_example(shared_data, "crm/maven_crm/sales_pipeline.csv",
                                   "maven_crm_deals.yaml")
    assert len(deals) + len(rejects) == 8800 and rejects == []
    assert len({d["source_key"] for d in deals}) == 8800
    assert Counter(d["stage"] for d in deals) == {
        "Won": 4238, "Lost": 2473, "Engaging": 1589, "Prospecting": 500}
    assert sum(d["is_won"] for d in deals) == 4238
    assert sum(d["is_closed"] for d in deals) == 4238 + 2473
    assert sum(d["amount"] for d in deals if d["is_won"]) == 10_005_534
    assert sum(d["account"] is None for d in deals) == 1425
    assert sum(d["engage_date"] is None for d in deals) == 500
    assert sum(d["close_date"] is None for d in deals) == 2089
    assert "GTXPro" not in {d["product"] for d in deals}
    assert min(d["engage_date"] for d in deals if d["engage_date"]) == "2016-10-20"
    assert max(d["close_date"] for d in deals if d["close_date"]) == "2017-12-31"

    accounts, rejects = _load_example(shared_data, "crm/maven_crm/accounts.csv",
                                      "maven_crm_accounts.yaml")
    assert len(accounts) == 85 and rejects == []
    acme = next(a for a in accounts if a["name"] == "Acme Corporation")
    assert acme["industry"] == "technology" and acme["annual_revenue"] == 1_100_040_000.0
    assert {d["account"] for d in deals if d["account"]} <= {a["name"] for a in accounts}


def test_the_documented_example_and_fields_are_current():
    doc = (EXAMPLES.parent / "docs" / "mapping.md").read_text(encoding="utf-8")
    example = doc.split("```yaml\n", 1)[1].split("```", 1)[0]
    mapping = parse_mapping(yaml.safe_load(example))
    assert mapping.entity == "deals" and len(mapping.rules) == 12
    for entity, fields in FIELDS.items():
        row = next(line for line in doc.splitlines() if line.startswith(f"| `{entity}` |"))
        assert all(f"`{f}`" in row or f in ("external_id", "owner", "created_at", "updated_at")
                   for f in fields), entity


def test_every_example_mapping_is_valid():
    names = sorted(p.name for p in EXAMPLES.glob("*.yaml"))
    assert names == ["maven_crm_accounts.yaml", "maven_crm_deals.yaml", "x_education_leads.yaml"]
    for path in EXAMPLES.glob("*.yaml"):
        load_mapping(path)
