"""Lead features from `marts.lead_features`: what is known about a lead and its engagement.

Never the outcome or anything derived from it: status, conversion, closure and earlier
scores stay out (`OUTCOME_COLUMNS`), and the SQL below selects features explicitly.
"""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
import sqlalchemy as sa
from psycopg import sql

from ml import marts

SOURCE = "marts.lead_features"

CATEGORICAL = ["lead_source", "industry", "country", "title_seniority"]
NUMERIC = [
    "employees", "is_free_email", "has_phone", "has_campaign",
    "touchpoints_before_creation", "touchpoints_30d_after_creation",
    "email_opens", "email_clicks", "form_fills", "inbound_emails",
]
FEATURES = CATEGORICAL + NUMERIC

#: Columns of the mart that are (or leak) the label: never features.
OUTCOME_COLUMNS = frozenset({"status", "is_converted", "converted_at", "is_closed", "closed_at"})
assert not OUTCOME_COLUMNS & set(FEATURES)

#: What the queries read of the mart: identifiers and raw inputs of the features.
_COLUMNS = """
    f.lead_id, f.created_at, f.lead_source, f.industry, f.country, f.title, f.employees,
    f.is_free_email, f.has_phone, f.campaign_id,
    f.touchpoints_before_creation, f.touchpoints_30d_after_creation,
    f.email_opens, f.email_clicks, f.form_fills, f.inbound_emails
"""


#: Title seniority, first match wins (so "Vice President" is vp, not c_level).
SENIORITY_PATTERNS = [
    ("vp", r"\b(?:vp|svp|evp|avp|vice[- ]president)\b"),
    ("c_level", r"\b(?:chief|ceo|cfo|cto|coo|cmo|cio|ciso|cro|president|founder|co-founder"
                r"|owner|partner|managing director)\b"),
    ("director", r"\b(?:director|head)\b"),
    ("manager", r"\b(?:manager|mgr|lead|supervisor|principal)\b"),
]


def _per_distinct(values: pd.Series, transform) -> pd.Series:
    """`transform` (Series -> Series) of each distinct value once, spread back over `values`:
    titles and categories repeat, so a million leads cost a few thousand string operations."""
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    distinct = transform(pd.Series(np.append(uniques.astype(object), None), dtype=object))
    return pd.Series(distinct.to_numpy(dtype=object)[codes], index=values.index, dtype=object)


def title_seniority(title: pd.Series) -> pd.Series:
    """c_level, vp, director, manager, individual (any other title) or unknown (none)."""
    return _per_distinct(title, _seniority)


def _seniority(title: pd.Series) -> pd.Series:
    text = title.fillna("").astype(str).str.strip().str.lower()
    conditions = [text.str.contains(pattern, regex=True) for _, pattern in SENIORITY_PATTERNS]
    labels = [label for label, _ in SENIORITY_PATTERNS]
    values = np.select(conditions, labels, default="individual")
    return pd.Series(np.where(text == "", "unknown", values), index=title.index, dtype=object)


def build(frame: pd.DataFrame) -> pd.DataFrame:
    """The model input from rows shaped like the mart: FEATURES in order; categories as
    lower-case strings ("unknown" when missing), the rest float (NaN when missing)."""
    derived = {
        "title_seniority": title_seniority(frame["title"]),
        "has_campaign": frame["campaign_id"].notna(),
    }
    X = pd.DataFrame(index=frame.index)
    for column in CATEGORICAL:
        values = derived[column] if column in derived else frame[column]
        X[column] = _per_distinct(values, _category)
    for column in NUMERIC:
        values = derived[column] if column in derived else frame[column]
        X[column] = pd.to_numeric(values, errors="coerce").astype(float)
    return X


def _category(values: pd.Series) -> pd.Series:
    """Lower-case, trimmed text; "unknown" when missing or blank."""
    cleaned = values.astype(object).where(values.notna(), "").astype(str).str.strip().str.lower()
    return cleaned.where(cleaned != "", "unknown").astype(object)


#: The mart's inputs of the features: a lead with none of them known cannot be scored.
INPUTS = ["lead_source", "industry", "country", "title", "employees", "is_free_email",
          "has_phone", "campaign_id", "touchpoints_before_creation",
          "touchpoints_30d_after_creation", "email_opens", "email_clicks", "form_fills",
          "inbound_emails"]


def nothing_known(frame: pd.DataFrame) -> pd.Series:
    """Rows of mart-shaped leads with every feature input missing (blank text counts)."""
    unknown = pd.Series(True, index=frame.index)
    for column in INPUTS:
        values = frame[column]
        missing = values.isna()
        if values.dtype == object:  # text: blank counts as missing (once per distinct value)
            missing |= _per_distinct(values, lambda v: v.map(
                lambda x: isinstance(x, str) and not x.strip())).astype(bool)
        unknown &= missing
    return unknown


def require_source(conn: sa.Connection) -> None:
    """The feature view is built by dbt: say so when it is not there yet."""
    marts.require_built(conn, SOURCE)


def load_training(engine: sa.Engine) -> pd.DataFrame:
    """Closed leads (outcome known) with the label `converted` (0/1), oldest first."""
    query = (f"select {_COLUMNS}, coalesce(f.is_converted, false)::int as converted"
             f" from {SOURCE} f where f.is_closed order by f.created_at, f.lead_id")
    with engine.connect() as conn:
        require_source(conn)
        return pd.read_sql_query(sa.text(query), conn)


def load_open(engine: sa.Engine, lead_ids: list[int] | None = None) -> pd.DataFrame:
    """Open leads (not closed) that still exist in app.leads; only `lead_ids` when given.

    Read with `COPY (...) TO STDOUT` as CSV into pandas' C parser: for a million leads this
    is several times faster than fetching rows through the driver (`read_sql_query`)."""
    query = sql.SQL(
        f"select {_COLUMNS} from {SOURCE} f"
        " where not coalesce(f.is_closed, false)"
        " and exists (select 1 from app.leads l"
        "             where l.id = f.lead_id and l.deleted_at is null){ids}"
        " order by f.lead_id")
    ids = sql.SQL("")
    if lead_ids is not None:
        ids = sql.SQL(" and f.lead_id = any({}::bigint[])").format(
            sql.Literal([int(i) for i in lead_ids]))
    statement = sql.SQL("copy ({}) to stdout with (format csv)").format(
        query.format(ids=ids))
    buffer = io.BytesIO()
    with engine.connect() as conn:
        require_source(conn)
        with conn.connection.driver_connection.cursor() as cur, cur.copy(statement) as copy:
            for data in copy:
                buffer.write(data)
    buffer.seek(0)
    # NULL is an empty unquoted field; an empty text ("") reads as missing too, which
    # `build` and `nothing_known` treat as missing anyway
    frame = pd.read_csv(buffer, names=_OPEN_COLUMNS, dtype=_OPEN_TYPES, true_values=["t"],
                        false_values=["f"], keep_default_na=False, na_values=[""])
    frame["created_at"] = pd.to_datetime(frame["created_at"], utc=True, format="ISO8601")
    return frame


_OPEN_COLUMNS = [c.strip().removeprefix("f.") for c in _COLUMNS.split(",")]
_TEXT = ["lead_source", "industry", "country", "title"]
_OPEN_TYPES = {"lead_id": "int64", "created_at": object, **dict.fromkeys(_TEXT, object),
               "is_free_email": "boolean", "has_phone": "boolean"}
