"""Great Expectations suites on each raw batch: one suite per raw entity, declared below.

Each suite is built from a line of `RULES`: the columns the batch must have (a missing one
means a wrong or broken file), and which columns hold e-mail addresses, dates and amounts.
Two levels, as Dagster reads them (`orchestration.defs.ingest`):

- critical (the batch is unusable: the check fails with ERROR and, being blocking, stops
  everything downstream): a required column missing, a source key twice in one batch with
  different content (which version is true?);
- warning (worth a look, the flow goes on): fewer than `MOSTLY` of the values e-mail-ish,
  parseable as dates, numeric.

A batch is validated as it landed in `raw` (its records flattened: `fields.email`), so a
record already loaded before is not checked twice. Great Expectations takes seconds to
import: only the check imports this module, never the Dagster definitions.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import Any

os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")  # no usage statistics sent home

import great_expectations as gx  # noqa: E402
import great_expectations.expectations as gxe  # noqa: E402
import pandas as pd  # noqa: E402
import sqlalchemy as sa  # noqa: E402
from great_expectations.data_context.types.base import ProgressBarsConfig  # noqa: E402

from salesops.models.raw import raw_table_name, record_sql  # noqa: E402

#: Share of the non-empty values that must look right before a warning.
MOSTLY = 0.95
EMAIL = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"
NUMBER = r"^\s*[-+]?(?:\d+(?:[.,]\d*)?|[.,]\d+)(?:[eE][-+]?\d+)?\s*$"


@dataclass(frozen=True)
class Rules:
    required: tuple[str, ...] = ()
    emails: tuple[str, ...] = ()
    dates: tuple[str, ...] = ()
    amounts: tuple[str, ...] = ()


_SF_STAMPS = ("CreatedDate",)
RULES: dict[tuple[str, str], Rules] = {
    ("salesforce", "user"): Rules(("Id", "Email"), ("Email",), _SF_STAMPS),
    ("salesforce", "account"): Rules(("Id", "Name"), (), (*_SF_STAMPS, "LastModifiedDate"),
                                     ("AnnualRevenue", "NumberOfEmployees")),
    ("salesforce", "contact"): Rules(("Id", "Email"), ("Email",),
                                     (*_SF_STAMPS, "LastModifiedDate")),
    ("salesforce", "lead"): Rules(("Id", "Email"), ("Email",),
                                  (*_SF_STAMPS, "ConvertedDate"), ("NumberOfEmployees",)),
    ("salesforce", "opportunity"): Rules(("Id", "StageName"), (), (*_SF_STAMPS, "CloseDate"),
                                         ("Amount", "Probability")),
    ("salesforce", "opportunity_history"): Rules(("Id", "OpportunityId", "StageName"), (),
                                                 (*_SF_STAMPS, "CloseDate"),
                                                 ("Amount", "Probability")),
    ("salesforce", "campaign"): Rules(("Id", "Name"), (), ("StartDate", "EndDate"),
                                      ("BudgetedCost", "ActualCost", "ExpectedRevenue")),
    ("salesforce", "campaign_member"): Rules(("Id", "CampaignId"), (),
                                             (*_SF_STAMPS, "FirstRespondedDate")),
    ("salesforce", "task"): Rules(("Id",), (), (*_SF_STAMPS, "ActivityDate")),
    ("hubspot", "contacts"): Rules(("id",), ("properties.email",), ("createdAt", "updatedAt")),
    ("hubspot", "companies"): Rules(("id",), (), ("createdAt", "updatedAt")),
    ("hubspot", "deals"): Rules(("id",), (), ("createdAt", "properties.closedate"),
                                ("properties.amount",)),
    ("hubspot", "engagements"): Rules(("id",)),
    ("hubspot", "owners"): Rules(("id",), ("email",)),
    ("hubspot", "pipelines"): Rules(("id",)),
    ("email", "messages"): Rules(("from_address",), ("from_address",), ("date",)),
    ("webforms", "submissions"): Rules(("submission_id", "fields.email"), ("fields.email",),
                                       ("submitted_at", "consent.given_at")),
    ("touchpoints", "events"): Rules(("event_id", "event_type", "occurred_at"), ("email",),
                                     ("occurred_at",), ("cost",)),
}
"""(source, entity) -> its rules; any other raw entity (mapped files) gets the key rules."""


def suite(source: str, entity: str) -> gx.ExpectationSuite:
    """The suite of one raw entity."""
    rules = RULES.get((source, entity), Rules())
    critical: list[gxe.Expectation] = [
        gxe.ExpectColumnValuesToBeUnique(column="source_key",
                                         description="one version of a record per batch"),
        *(gxe.ExpectColumnToExist(column=c) for c in rules.required)]
    warnings: list[gxe.Expectation] = [
        *(gxe.ExpectColumnValuesToMatchRegex(column=c, regex=EMAIL, mostly=MOSTLY)
          for c in rules.emails),
        *(gxe.ExpectColumnValuesToBeDateutilParseable(column=c, mostly=MOSTLY)
          for c in rules.dates),
        *(gxe.ExpectColumnValuesToMatchRegex(column=c, regex=NUMBER, mostly=MOSTLY)
          for c in rules.amounts)]
    for expectation in warnings:
        expectation.severity = "warning"
    return gx.ExpectationSuite(name=raw_table_name(source, entity),
                               expectations=[*critical, *warnings])


@dataclass
class Outcome:
    """A batch's validation: what failed, and whether any of it makes the batch unusable."""

    rows: int = 0
    failures: list[dict[str, Any]] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not self.failures

    @property
    def unusable(self) -> bool:
        return any(f["severity"] == "critical" for f in self.failures)


def frame(records: Sequence[tuple[str, dict[str, Any]]]) -> pd.DataFrame:
    """(source_key, record) pairs as one flat frame: nested objects become dotted columns,
    empty strings are missing values, and every value other than a list is text (so a
    regex applies to numbers too)."""
    df = pd.json_normalize([{**record, "source_key": key} for key, record in records])
    for column in df.columns:
        df[column] = pd.Series([_text(v) for v in df[column]], index=df.index, dtype=object)
    return df


def _text(value: Any) -> Any:
    if isinstance(value, list | dict):
        return value
    if value is None or value == "" or (isinstance(value, float) and value != value):  # NaN
        return None
    return value if isinstance(value, str) else str(value)


def validate(df: pd.DataFrame, source: str, entity: str) -> Outcome:
    """Run the entity's suite on a batch."""
    outcome = Outcome(rows=len(df))
    if df.empty:
        return outcome
    result = _batch_definition(raw_table_name(source, entity)).get_batch(
        batch_parameters={"dataframe": df}).validate(suite(source, entity))
    for item in result.results:
        if item.success:
            continue
        config = item.expectation_config
        outcome.failures.append({
            "expectation": config.type, "column": config.kwargs.get("column"),
            "severity": str(getattr(config.severity, "value", config.severity)),
            "unexpected": item.result.get("unexpected_count"),
            "examples": [str(v)[:80] for v in (item.result.get("partial_unexpected_list")
                                               or [])[:5]]})
    return outcome


def validate_batches(engine: sa.Engine, source: str, entity: str,
                     batch_ids: Sequence[uuid.UUID]) -> Outcome:
    """Validate each batch as it landed in `raw`; the failures of all of them, each once."""
    table = f"raw.{raw_table_name(source, entity)}"
    total = Outcome()
    for batch_id in batch_ids:
        with engine.connect() as conn:
            rows = conn.execute(sa.text(f"select source_key, {record_sql(source, 'w')} from "
                                        f"{table} w where batch_id = :b"), {"b": batch_id}).all()
        outcome = validate(frame([tuple(r) for r in rows]), source, entity)
        total.rows += outcome.rows
        for failure in outcome.failures:
            same = next((f for f in total.failures if (f["expectation"], f["column"]) ==
                         (failure["expectation"], failure["column"])), None)
            if same is None:
                total.failures.append(failure)
            else:
                same["unexpected"] = (same["unexpected"] or 0) + (failure["unexpected"] or 0)
    return total


@cache
def _data_source() -> Any:
    """An in-memory Great Expectations context with one pandas data source."""
    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    return context.data_sources.add_pandas("raw")


@cache
def _batch_definition(name: str) -> Any:
    """A data asset per raw table, its batch the whole DataFrame given."""
    asset = _data_source().add_dataframe_asset(name)
    return asset.add_batch_definition_whole_dataframe(f"{name} batch")
