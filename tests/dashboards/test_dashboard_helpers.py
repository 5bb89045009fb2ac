"""The dashboards' pure helpers: periods and changes, score reasons and calibration."""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest
import sqlalchemy as sa

from dashboards.data import csv_bytes
from dashboards.periods import change, days, money, percent, previous_period
from dashboards.scores import calibration, probability_bin, reasons_text
from salesops.db import get_engine


def test_previous_period_has_the_same_length_and_ends_the_day_before():
    assert previous_period(date(2026, 4, 1), date(2026, 6, 30)) == (date(2025, 12, 31),
                                                                   date(2026, 3, 31))
    assert previous_period(date(2026, 3, 1), date(2026, 3, 1)) == (date(2026, 2, 28),
                                                                  date(2026, 2, 28))


@pytest.mark.parametrize(("current", "previous", "points", "expected"), [
    (150, 100, False, "+50.0%"),
    (50, 200, False, "-75.0%"),
    (10, 0, False, None),               # no base to compare against
    (None, 10, False, None),
    (float("nan"), 10, False, None),
    (0.75, 0.5, True, "+25.0 pp"),      # rates change in percentage points
    (0.5, 0.5, True, "+0.0 pp"),
])
def test_change(current, previous, points, expected):
    assert change(current, previous, points=points) == expected


def test_formats_say_n_a_for_missing_values():
    assert (money(1234.4), percent(0.666), days(12.25)) == ("$1,234", "67%", "12.2 days")
    assert {money(None), percent(float("nan")), days(None)} == {"n/a"}


def test_reasons_text_strongest_first():
    reasons = [{"feature": "has_phone", "value": True, "contribution": 0.1, "direction": "up"},
               {"feature": "email_opens", "value": 0, "contribution": -0.5,
                "direction": "down"}]
    assert reasons_text(reasons) == "email opens = 0 (lowers), has phone = True (raises)"
    assert reasons_text(reasons, k=1) == "email opens = 0 (lowers)"
    assert reasons_text([]) == reasons_text(None) == ""


def test_calibration_bins_predicted_against_actual():
    # leads counted in SQL by bin and outcome: bin 0 holds 0.05 (no) and 0.08 (yes), bin 9
    # holds 0.95, 0.92 (yes) and 0.91 (no)
    groups = pd.DataFrame({"probability_bin": [0, 0, 9, 9], "is_converted": [False, True,
                                                                             True, False],
                           "leads": [1, 1, 2, 1], "probability_sum": [0.05, 0.08, 1.87, 0.91]})
    table = calibration(groups)
    assert table.leads.tolist() == [2, 3]
    assert table.predicted.round(4).tolist() == [0.065, 0.9267]
    assert table.actual.round(4).tolist() == [0.5, 0.6667]
    assert table.bin.tolist() == ["(0.0, 0.1]", "(0.9, 1.0]"]


def test_probability_bins_are_closed_on_the_right(database_url):
    with get_engine(database_url).connect() as conn:
        bins = conn.execute(sa.text(
            f"select {probability_bin('p')} from unnest(array[0, 0.05, 0.1, 0.15, 1]) p"))
        assert [b for (b,) in bins] == [0, 0, 0, 1, 9]


def test_csv_export_quotes_what_a_spreadsheet_would_run_as_a_formula():
    frame = pd.DataFrame({"company": ["=HYPERLINK(\"x\")", "+1", "-2", "@SUM(A1)", "Acme", None],
                          "amount": [-5, 1, 2, 3, 4, 5], "=bad": ["\tx", "a", "b", "c", "d", "e"]})
    lines = csv_bytes(frame).decode().splitlines()
    assert lines[0] == "company,amount,'=bad"
    assert [line.split(",")[0] for line in lines[1:]] == [
        '"\'=HYPERLINK(""x"")"', "'+1", "'-2", "'@SUM(A1)", "Acme", ""]
    assert lines[1].split(",")[1] == "-5"  # numbers are not text: left alone
    assert frame.company[0].startswith("=")  # the frame on screen is untouched
