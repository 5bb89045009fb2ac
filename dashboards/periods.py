"""A reporting period, the one of equal length before it, and metrics with their change."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta

import pandas as pd
import streamlit as st
from streamlit.delta_generator import DeltaGenerator


def previous_period(start: date, end: date) -> tuple[date, date]:
    """The period of the same number of days that ends the day before `start`."""
    days = (end - start).days + 1
    return start - timedelta(days=days), start - timedelta(days=1)


def _number(value) -> float | None:
    if value is None:
        return None
    value = float(value)
    return None if math.isnan(value) else value


def change(current, previous, *, points: bool = False) -> str | None:
    """The change from `previous` to `current` in words for st.metric's delta.

    Relative (`+12.5%`) by default; in percentage points (`+5.0 pp`) for rates given as
    fractions. None when there is nothing to compare against (no previous value, or zero).
    """
    current, previous = _number(current), _number(previous)
    if current is None or previous is None:
        return None
    if points:
        return f"{(current - previous) * 100:+.1f} pp"
    if previous == 0:
        return None
    return f"{(current - previous) / abs(previous):+.1%}"


def money(value) -> str:
    value = _number(value)
    return "n/a" if value is None else f"${value:,.0f}"


def percent(value) -> str:
    value = _number(value)
    return "n/a" if value is None else f"{value:.0%}"


def days(value) -> str:
    value = _number(value)
    return "n/a" if value is None else f"{value:,.1f} days"


def count(value) -> str:
    value = _number(value)
    return "n/a" if value is None else f"{value:,.0f}"


def metric_with_change(where: DeltaGenerator, label: str, current, previous,
                       fmt: Callable[[object], str], *, points: bool = False,
                       lower_is_better: bool = False) -> None:
    """st.metric showing `current` and its change against the previous period."""
    where.metric(label, fmt(current), change(current, previous, points=points),
                 delta_color="inverse" if lower_is_better else "normal",
                 help=f"Previous period: {fmt(previous)}")


@dataclass(frozen=True)
class Measure:
    """A headline number: its label, its column, how to show it, how to compare it."""

    label: str
    column: str
    fmt: Callable[[object], str]
    points: bool = False  # a rate (fraction): its change in percentage points
    lower_is_better: bool = False


def compare(values: pd.DataFrame, measures: list[Measure]) -> pd.DataFrame:
    """One st.metric per measure with its change, from `values` indexed by `current` and
    `previous`; measures whose column is absent are left out. Returns the comparison as a
    table (measure, current, previous, change)."""
    shown = [m for m in measures if m.column in values]
    rows = [{"measure": m.label, "current": values.at["current", m.column],
             "previous": values.at["previous", m.column]} for m in shown]
    for where, m, row in zip(st.columns(len(shown)) if shown else [], shown, rows,
                             strict=True):
        metric_with_change(where, m.label, row["current"], row["previous"], m.fmt,
                           points=m.points, lower_is_better=m.lower_is_better)
        row["change"] = change(row["current"], row["previous"], points=m.points)
    return pd.DataFrame(rows, columns=["measure", "current", "previous", "change"])
