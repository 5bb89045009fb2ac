"""Lead scoring on any lead table a user brings: mapped records -> features -> evaluation.

The records are those of the mapped-file import (docs/mapping.md): every canonical `leads`
field, plus the file's other columns under `extra`. The label is the canonical `converted`
field (leads with no value are open and left out of the evaluation). Which columns become
features is decided here, and every column that does not is reported with its reason:
identities and free text, the outcome itself, columns the mapping declares as filled in
after contact (`after_contact:`), and what the leakage guard (ml.lead_scoring.leakage)
finds. The estimators, split rules, metrics and explanations are those of the mart path.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml
from sklearn.model_selection import train_test_split

from ml import explain, mapped
from ml.errors import NotEnoughData
from ml.lead_scoring import features, leakage
from ml.lead_scoring.evaluate import HOLDOUT_FRACTION, check_enough, split_by_time
from ml.lead_scoring.model import MODEL_NAME, RANDOM_STATE, build_baseline, build_model, threads_for
from ml.lead_scoring.score import N_REASONS, band_for
from ml.metrics import binary_metrics, evaluation_record
from salesops.errors import SalesopsError

LABEL = "converted"
#: Canonical fields that never become features, and why.
NOT_FEATURES = {
    "converted_at": "the outcome (when the lead converted)",
    "status": "the lead's status records its outcome",
    "owner": "who works the lead, assigned after it came in",
    "created_at": "the creation time: orders the time-based split",
    **dict.fromkeys(("external_id", "first_name", "last_name", "full_name", "company"),
                    "identifies the lead; says nothing general about its chance"),
}
#: Canonical fields turned into a feature of their own.
DERIVED = {"email": "is_free_email", "phone": "has_phone", "title": "title_seniority"}
#: A text column with more distinct values than this share of its rows identifies leads.
IDENTIFIER_SHARE = 0.5
#: A column is numeric (or a date) when at least this share of its values parse as one.
PARSE_SHARE = 0.95
_DBT_PROJECT = Path(__file__).resolve().parents[2] / "dbt_project" / "dbt_project.yml"


@cache
def free_email_domains() -> frozenset[str]:
    """The free-mail domains, from the one list the warehouse uses (dbt var)."""
    project = yaml.safe_load(_DBT_PROJECT.read_text())
    return frozenset(d.lower() for d in project["vars"]["free_email_domains"])


@dataclass(frozen=True)
class Table:
    """Labelled leads as model input, with what was left out and why."""

    X: pd.DataFrame
    y: pd.Series
    created_at: pd.Series | None
    categorical: list[str]
    numeric: list[str]
    excluded: dict[str, str]
    n_open: int


def records_frame(records: Iterable[Mapping[str, Any]]) -> pd.DataFrame:
    """Mapped records -> one column per canonical field and per extra column (an extra
    column named like a canonical field gets the suffix ' (extra)')."""
    rows = list(records)
    if not rows:
        return pd.DataFrame()
    base = pd.DataFrame([{k: v for k, v in r.items() if k not in ("extra", "_warnings")}
                         for r in rows])
    extra = pd.DataFrame([r.get("extra") or {} for r in rows], index=base.index)
    extra.columns = [f"{c} (extra)" if c in base.columns else c for c in extra.columns]
    return pd.concat([base.drop(columns=["source_key", "origin_system"], errors="ignore"),
                      extra], axis=1)


def resolve_declared(columns: Sequence[str], rules: Sequence[Any],
                     frame: pd.DataFrame) -> list[str]:
    """Source columns declared post-contact -> the frame's names for them (the canonical
    field for a mapped column). A name not in the data is an error: a typo would leak."""
    import difflib

    field_of: dict[str, list[str]] = {}
    for rule in rules:
        field_of.setdefault(rule.column, []).append(rule.field)
    names = []
    for column in columns:
        if column in field_of:
            names.extend(field_of[column])
        elif column in frame.columns:
            names.append(column)
        else:
            close = difflib.get_close_matches(column, list(field_of) + list(frame.columns), n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise SalesopsError(f"after_contact: column {column!r} is not in the data{hint} "
                                "Fix the name (in the mapping, or --after-contact) so the "
                                "column is kept out.")
    return names


def _parse_share(parsed: pd.Series, values: pd.Series) -> float:
    present = values.notna()
    return float(parsed[present].notna().mean()) if present.any() else 0.0


def _as_dates(values: pd.Series) -> pd.Series | None:
    if pd.api.types.is_datetime64_any_dtype(values):
        return pd.to_datetime(values, utc=True)
    text = values.dropna().astype(str)
    if text.empty or not text.str.contains(r"\d{1,4}[-/.]\d{1,2}[-/.]\d{1,4}").all():
        return None
    parsed = pd.to_datetime(values.astype(str).where(values.notna()), utc=True, errors="coerce",
                            format="mixed")
    return parsed if _parse_share(parsed, values) >= PARSE_SHARE else None


def build_table(frame: pd.DataFrame, after_contact: Sequence[str] = ()) -> Table:
    """Split mapped leads into label, features and excluded columns (the declared leakage
    too; the data-driven checks need the training split and run in `evaluate_records`)."""
    if LABEL not in frame.columns or frame[LABEL].isna().all():
        raise SalesopsError(
            "No lead in the data has an outcome: map the column that says whether a lead "
            "converted to the field `converted` (e.g. `Converted: converted`, or a value map "
            "from a status column; see docs/mapping.md).")
    excluded: dict[str, str] = {}
    labelled = frame[frame[LABEL].notna()].reset_index(drop=True)
    y = labelled[LABEL].astype(bool).astype(int)
    created = None
    if "created_at" in labelled.columns and labelled["created_at"].notna().all():
        created = pd.to_datetime(labelled["created_at"], utc=True, format="ISO8601")

    X = pd.DataFrame(index=labelled.index)
    categorical, numeric, dates = [], [], {}
    for column in labelled.columns:
        values = labelled[column]
        if column == LABEL or values.isna().all():
            continue  # the label, or a canonical field no column maps to
        if column in after_contact:
            excluded[column] = "declared as filled in after contact"
        elif column in NOT_FEATURES:
            excluded[column] = NOT_FEATURES[column]
        elif column == "email":
            domain = values.astype(str).str.rsplit("@", n=1).str[-1].str.lower()
            X["is_free_email"] = domain.isin(free_email_domains()).astype(float).where(
                values.notna())
            numeric.append("is_free_email")
        elif column == "phone":
            X["has_phone"] = values.notna().astype(float)
            numeric.append("has_phone")
        elif column == "title":
            X["title_seniority"] = features.title_seniority(values)
            categorical.append("title_seniority")
        elif values.dropna().nunique() <= 1 and values.notna().all():
            excluded[column] = "one value only: nothing to learn from"
        elif pd.api.types.is_bool_dtype(values) or set(values.dropna().unique()) <= {True, False}:
            X[column] = values.map({True: 1.0, False: 0.0})
            numeric.append(column)
        elif _parse_share(number := pd.to_numeric(values, errors="coerce"),
                          values) >= PARSE_SHARE:
            if number.notna().all() and number.is_unique and (number % 1 == 0).all():
                excluded[column] = "unique whole number per lead: an identifier"
            else:
                X[column] = number.astype(float)
                numeric.append(column)
        elif (parsed := _as_dates(values)) is not None:
            dates[column] = parsed
        elif values.astype(str).nunique() > IDENTIFIER_SHARE * values.notna().sum():
            excluded[column] = "different for most leads: an identifier or free text"
        else:
            text = values.astype(object).where(values.notna(), "")
            text = text.astype(str).str.strip().str.lower()
            X[column] = text.where(text != "", "unknown").astype(object)
            categorical.append(column)

    if dates:
        late = leakage.late_timestamps(pd.DataFrame(dates), created)
        excluded.update(late)
        for column, parsed in dates.items():
            if column not in late:  # known before the lead came in: its age then, in days
                X[column] = (created - parsed).dt.total_seconds() / 86400.0
                numeric.append(column)
    if not categorical and not numeric:
        raise SalesopsError("No column of the data can be a feature (see the excluded "
                            f"columns: {excluded}); map or add columns that describe the leads.")
    return Table(X=X, y=y, created_at=created, categorical=categorical, numeric=numeric,
                 excluded=excluded, n_open=int(frame[LABEL].isna().sum()))


def _split(table: Table, holdout_fraction: float) -> tuple[np.ndarray, np.ndarray, str]:
    """Row positions of training and holdout leads, and how they were split."""
    if table.created_at is not None:
        ordered = pd.DataFrame({"created_at": table.created_at, "converted": table.y})
        train, holdout, cutoff = split_by_time(ordered, holdout_fraction)
        return (train.index.to_numpy(), holdout.index.to_numpy(),
                f"time-based: leads created from {cutoff:%Y-%m-%d} held out")
    train, holdout = train_test_split(np.arange(len(table.y)), test_size=holdout_fraction,
                                      stratify=table.y, random_state=RANDOM_STATE)
    return (np.sort(train), np.sort(holdout),
            f"no created_at: seeded stratified split ({holdout_fraction:.0%} held out, "
            f"seed {RANDOM_STATE})")


def evaluate_table(table: Table, data: str, leakage_auc: float | None = None,
                   holdout_fraction: float = HOLDOUT_FRACTION) -> dict:
    """Guard, fit, score and explain the holdout; the evaluation record with the excluded
    columns, the split, and the logistic-regression baseline of the same run."""
    check_enough(pd.DataFrame({"converted": table.y}), source=data)
    train_rows, hold_rows, split = _split(table, holdout_fraction)
    X_train, y_train = table.X.iloc[train_rows], table.y.iloc[train_rows]
    X_hold, y_hold = table.X.iloc[hold_rows], table.y.iloc[hold_rows]

    excluded = dict(table.excluded)
    excluded.update(leakage.too_predictive(X_train, y_train, leakage_auc))
    categorical = [c for c in table.categorical if c not in excluded]
    numeric = [c for c in table.numeric if c not in excluded]
    if not categorical and not numeric:
        raise NotEnoughData(f"Every feature of {data} was excluded: {excluded}")
    with threads_for(len(X_train)):
        model = build_model(len(X_train), categorical, numeric).fit(X_train, y_train)
        p_model = model.predict_proba(X_hold)[:, 1]
        reasons = explain.top_reasons(explain.tree_contributions(model, X_hold),
                                      X_hold[categorical + numeric], k=N_REASONS)
    baseline = build_baseline(categorical, numeric).fit(X_train, y_train)
    p_base = baseline.predict_proba(X_hold)[:, 1]

    bands = pd.Series(band_for(np.rint(p_model * 100))).value_counts()
    first_reasons = pd.Series([r[0]["feature"] for r in reasons if r]).value_counts()
    record = evaluation_record(
        MODEL_NAME, data, binary_metrics(y_hold, p_model),
        {"logistic_regression": binary_metrics(y_hold, p_base)},
        excluded_columns=excluded,
        split=split,
        rows={"train": len(train_rows), "holdout": len(hold_rows),
              "holdout_converted": int(y_hold.sum()), "open_not_evaluated": table.n_open},
        features=categorical + numeric,
        scored={"leads": len(hold_rows),
                "bands": {b: int(bands.get(b, 0)) for b in "ABCD"},
                "top_reason": {str(k): int(v) for k, v in first_reasons.head(5).items()}},
    )
    return record


def evaluate_records(records: Iterable[Mapping[str, Any]], data: str,
                     after_contact: Sequence[str] = (), rules: Sequence[Any] = (),
                     leakage_auc: float | None = None, rejected: int = 0) -> dict:
    """Mapped lead records -> the evaluation record (nothing logged or written)."""
    frame = records_frame(records)
    if frame.empty:
        raise NotEnoughData(f"{data}: no lead could be read (rejected rows: {rejected}).")
    declared = resolve_declared(after_contact, rules, frame)
    record = evaluate_table(build_table(frame, declared), data, leakage_auc)
    record["rows"]["rejected_by_import"] = rejected
    return record


def data_file(path: Path) -> Path:
    """The file to read: `path`, or the one CSV file (else XLSX) in the folder `path`."""
    if path.is_dir():
        found = sorted(p for p in path.iterdir()
                       if p.suffix.lower() in (".csv", ".tsv", ".xlsx", ".xlsm"))
        tables = [p for p in found if p.suffix.lower() in (".csv", ".tsv")] or found
        if len(tables) != 1:
            raise SalesopsError(f"{path}: give the data file itself, the folder holds "
                                f"{len(tables)} candidates ({', '.join(p.name for p in tables)})")
        return tables[0]
    if not path.exists():
        raise SalesopsError(f"{path}: no such file or folder")
    return path


def evaluate_file(data: Path, mapping: Path, leakage_auc: float | None = None,
                  after_contact: Sequence[str] | None = None) -> dict:
    """The user's path: read the file through its mapping (the import's own code), build
    features, guard against leakage, train, score and explain the holdout. `after_contact`,
    if given, replaces the mapping's list of columns filled in after contact."""
    reader = mapped.reader()
    spec = reader.load_mapping(mapping)
    if spec.entity != "leads":
        raise SalesopsError(f"{mapping}: entity is {spec.entity!r}; lead scoring needs a "
                            "mapping with `entity: leads`")
    path = data_file(Path(data))
    records, rejected = [], 0
    for batch in reader.read_mapped(path, spec):
        records.extend(batch.records)
        rejected += len(batch.rejects)
    return evaluate_records(records, f"{path} (mapping {Path(mapping).name})",
                            spec.after_contact if after_contact is None else after_contact,
                            spec.rules, leakage_auc, rejected)
