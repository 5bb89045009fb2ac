"""A mapped export goes all the way into `raw`: every row loaded once, a re-load adds none."""

from pathlib import Path

import sqlalchemy as sa

from connectors.mapped_file import read_mapped
from salesops.loading import load_batch

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def load(engine, data: Path, mapping: Path) -> tuple[int, int, int]:
    loaded = duplicate = rejected = 0
    for batch in read_mapped(data, mapping):
        result = load_batch(engine, batch.source, batch.entity, batch.origin, batch.records,
                            batch.rejects)
        loaded += result.rows_loaded
        duplicate += result.rows_duplicate
        rejected += result.rows_rejected
    return loaded, duplicate, rejected


def test_x_education_leads_load_into_raw_once(clean_db, shared_data):
    data = shared_data / "leads" / "x_education" / "Leads.csv"
    mapping = EXAMPLES / "x_education_leads.yaml"
    assert load(clean_db, data, mapping) == (9240, 0, 0)
    assert load(clean_db, data, mapping) == (0, 9240, 0)
    with clean_db.connect() as conn:
        converted = conn.execute(sa.text(
            "select avg((record->>'converted')::boolean::int) from raw.mapped__leads")).scalar()
        origin = conn.execute(sa.text(
            "select distinct record->>'origin_system' from raw.mapped__leads")).scalar()
    assert abs(float(converted) - 0.385) < 0.005
    assert origin
