"""Bookings by Monte-Carlo simulation from deal-level probabilities.

Each simulated future draws, for every open deal, the month it is won in (or none) from its
class probabilities, and the amount it books (its pipeline amount times a ratio drawn from
what won deals booked against their pipeline amount). Business that is not in the pipeline
yet (deals created after as_of and won within the horizon: on a fast-closing pipeline, most
of a quarter's first month) is a count times amounts, learned from the months before as_of
only: per cell, the number of deals created after a past month start o and won in month
o + k is Poisson around its mean over past target months at the same position in the
quarter (quarter ends behave differently), and each such deal books an amount drawn from
those past deals' amounts (the cell's own once it has NEW_MIN_AMOUNTS of them).

Everything is kept per simulation, month, cell (team and owner) and forecast category, so
any total (a rep, a team, everyone; a month or a quarter) is summed before its quantiles
are taken: P10/P50/P90 of a sum, never a sum of quantiles.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ml.forecasting.features import add_months, amount_known, month_start
from ml.forecasting.history import DealHistory

N_SIMULATIONS = 2000
RANDOM_STATE = 0
QUANTILES = (0.1, 0.5, 0.9)

#: Deal forecast categories by win probability within the horizon, highest first.
CATEGORY_THRESHOLDS: tuple[tuple[str, float], ...] = (
    ("commit", 0.7), ("best_case", 0.4), ("pipeline", 0.1))
LOWEST_CATEGORY = "omitted"
CATEGORIES = tuple(c for c, _ in CATEGORY_THRESHOLDS) + (LOWEST_CATEGORY,)


#: Past forecast errors needed before they widen (and re-centre) the simulated distribution.
MIN_PAST_ERRORS = 3
#: Period forecast levels, the coarsest first.
LEVELS = ("total", "team", "rep")
#: The category of period rows holding business not in the pipeline yet.
NEW_BUSINESS = "new_business"
#: Past amounts of a cell's new deals needed before they, not everyone's, price its new deals.
NEW_MIN_AMOUNTS = 5
#: The parts of a period's bookings calibrated each by its own past errors: deals that
#: existed at as_of (open, or already booked in the period) and business not created yet.
PIPELINE = "pipeline"
COMPONENTS = (PIPELINE, NEW_BUSINESS)
#: The share of the simulation's spread (its deviations from the mean) kept once past
#: errors calibrate it: those errors already hold one month's luck of the draw each, so a
#: whole new draw on top counts it twice, and none leaves as few distinct values as there
#: are past errors. 1/sqrt(2) keeps half the simulation's variance.
FRESH_SPREAD = 2 ** -0.5


def log_error(actual, expected) -> np.ndarray:
    """How far a past forecast was off: log((actual + 1) / (expected + 1))."""
    return np.log1p(np.asarray(actual, dtype=float)) - np.log1p(np.asarray(expected, dtype=float))


def errors_for(level: str, errors: Mapping[str, np.ndarray]) -> np.ndarray:
    """The past errors that calibrate a forecast at `level` (rows of past forecasts, one
    column per COMPONENTS): its own once there are MIN_PAST_ERRORS of them, else the next
    finer level's (total -> team -> rep). A finer level's errors are wider (a sum averages
    some noise out), so a new company-wide forecast starts too wide rather than as narrow
    as the simulation alone."""
    own = _finite_rows(errors.get(level, ()))
    finer = LEVELS[LEVELS.index(level) + 1:]
    if len(own) >= MIN_PAST_ERRORS or not finer:
        return own
    return errors_for(finer[0], errors)


def _finite_rows(errors) -> np.ndarray:
    rows = np.asarray(errors, dtype=float).reshape(-1, len(COMPONENTS))
    return rows[np.isfinite(rows).all(axis=1)]


def calibrate(parts: np.ndarray, past_errors, seed: int = RANDOM_STATE) -> np.ndarray:
    """The total of each simulated future, each component scaled by its own past error.

    The simulation alone treats deals as independent, so its spread is only the luck of
    the draw; what moves a month's bookings together (a drifting pipeline, a slow month)
    shows up in how far earlier forecasts at the same level were off (`log_error` of
    actual against the simulation's mean). `parts` holds one column per COMPONENTS (the
    open pipeline with what is already booked; business not created yet) and each row of
    `past_errors` one earlier forecast's errors of the same components: every simulated
    future draws one earlier forecast at random and scales each component by that
    forecast's error of it (residuals applied to the new forecast, as in split-conformal
    prediction, kept jointly so a month that was slow for both stays so). A pipeline that
    was over-forecast thus no longer drags down the new business, which has its own
    record. A past error already holds that month's luck of the draw, so the new draw
    keeps only FRESH_SPREAD of its spread around the mean. With fewer than
    MIN_PAST_ERRORS past forecasts the components are added up as simulated."""
    errors = _finite_rows(past_errors)
    if len(errors) < MIN_PAST_ERRORS:
        return parts.sum(axis=1)
    rng = np.random.default_rng(seed)
    drawn = errors[rng.integers(len(errors), size=len(parts))]
    mean = parts.mean(axis=0)
    return ((1 + mean + FRESH_SPREAD * (parts - mean)) * np.exp(drawn) - 1).sum(axis=1)


def category_for(win_probability) -> np.ndarray:
    p = np.asarray(win_probability, dtype=float)
    return np.select([p >= t for _, t in CATEGORY_THRESHOLDS],
                     [c for c, _ in CATEGORY_THRESHOLDS], default=LOWEST_CATEGORY)


def expected_close_dates(probs: np.ndarray, as_of: pd.Timestamp) -> list[pd.Timestamp]:
    """The median month a deal is won in, given it is won within the horizon: the middle of
    that month, never before as_of."""
    won = probs[:, :-1]
    total = won.sum(axis=1, keepdims=True).clip(min=1e-12)
    k = ((won.cumsum(axis=1) / total) < 0.5).sum(axis=1).clip(max=won.shape[1] - 1)
    dates = []
    for offset in k:
        middle = add_months(as_of, int(offset)) + pd.Timedelta(days=14)
        dates.append(max(middle, as_of.normalize()))
    return dates


@dataclass(frozen=True)
class Bookings:
    """Simulated bookings: `existing[s, k, c, g]` from today's open deals, `new[s, k, c]`
    from deals not created yet, `closed[k, c]` already booked in month k before as_of."""

    as_of: pd.Timestamp
    cells: pd.DataFrame  # team, owner per cell index
    existing: np.ndarray
    new: np.ndarray
    closed: np.ndarray

    def months(self) -> list[pd.Timestamp]:
        return [add_months(self.as_of, k) for k in range(self.existing.shape[1])]

    def components(self, cells: np.ndarray, months: list[int]) -> np.ndarray:
        """(simulations, COMPONENTS): the pipeline (already booked and today's open deals)
        and the business not created yet, draw by draw; a row adds up to `total`."""
        new = self.total(cells, months, NEW_BUSINESS)
        return np.column_stack([self.total(cells, months) - new, new])

    def total(self, cells: np.ndarray, months: list[int], category: str | None = None
              ) -> np.ndarray:
        """Samples of bookings for the cells and month offsets given, one category (its
        existing deals only, `closed`, or NEW_BUSINESS) or all of them, draw by draw."""
        if category == "closed":
            return np.full(self.existing.shape[0], self.closed[np.ix_(months, cells)].sum())
        if category == NEW_BUSINESS:
            return self.new[:, months][:, :, cells].sum(axis=(1, 2))
        if category is not None:
            g = CATEGORIES.index(category)
            return self.existing[:, months][:, :, cells, g].sum(axis=(1, 2))
        return (self.existing[:, months][:, :, cells].sum(axis=(1, 2, 3))
                + self.new[:, months][:, :, cells].sum(axis=(1, 2))
                + self.closed[np.ix_(months, cells)].sum())


def cells_of(history: DealHistory) -> pd.DataFrame:
    """One cell per (team, owner) seen in the history."""
    return (history.deals[["team", "owner"]].drop_duplicates()
            .sort_values(["team", "owner"]).reset_index(drop=True))


def _cell_index(frame: pd.DataFrame, cells: pd.DataFrame) -> np.ndarray:
    lookup = {(t, o): i for i, (t, o) in enumerate(zip(cells["team"], cells["owner"],
                                                       strict=True))}
    return np.array([lookup[(t, o)] for t, o in zip(frame["team"], frame["owner"],
                                                    strict=True)], dtype=int)


def amount_ratios(history: DealHistory, as_of: pd.Timestamp) -> np.ndarray:
    """What won deals booked over their pipeline amount, the amount known just before they
    closed (1.0 when nothing to go by)."""
    d = history.deals
    won = d[d["is_won"] & (d["closed_at"] < as_of)]
    pipeline = amount_known(history, won["deal_id"], won["closed_at"], strictly_before=True)
    ratio = (won["booked_amount"] / pipeline.where(pipeline > 0)).dropna().to_numpy()
    return ratio[np.isfinite(ratio)] if len(ratio) else np.array([1.0])


def _won_in_month(history: DealHistory, start: pd.Timestamp, cells: pd.DataFrame,
                  until: pd.Timestamp | None = None, which: pd.Series | None = None
                  ) -> np.ndarray:
    """Revenue per cell booked by deals won in the month from `start` (up to `until`), of
    the deals `which` marks (all by default)."""
    d = history.deals if which is None else history.deals[which]
    end = add_months(start, 1) if until is None else min(add_months(start, 1), until)
    won = d[d["is_won"] & (d["closed_at"] >= start) & (d["closed_at"] < end)]
    out = np.zeros(len(cells))
    np.add.at(out, _cell_index(won, cells), won["booked_amount"].fillna(won["amount"]).fillna(0))
    return out


def won_by_component(history: DealHistory, start: pd.Timestamp, cells: pd.DataFrame,
                     as_of: pd.Timestamp) -> np.ndarray:
    """(cells, COMPONENTS): revenue won in the month from `start` by deals that existed at
    as_of (created by then) and by deals created after it; the columns add up to what was
    won."""
    existed = history.deals["created_at"] <= as_of
    return np.column_stack([_won_in_month(history, start, cells, which=existed),
                            _won_in_month(history, start, cells, which=~existed)])


def _position(month: pd.Timestamp) -> int:
    return (month.month - 1) % 3


@dataclass(frozen=True)
class NewBusiness:
    """What deals not yet created at a month start o brought in month o + k, over past month
    starts o whose month o + k ended by as_of: `deals` (k, position of month o + k in its
    quarter, cell, amount; one row per such deal and o) and `months` (k, position: how many
    such months were seen, with or without deals)."""

    deals: pd.DataFrame
    months: Counter[tuple[int, int]]

    def rate_and_amounts(self, k: int, position: int, cell: int
                         ) -> tuple[float, np.ndarray]:
        """Mean deals per month and their amounts, at the same position in the quarter
        (every position when none was seen yet)."""
        rows = self.deals[self.deals["k"] == k]
        months = self.months[(k, position)]
        if months:
            rows = rows[rows["position"] == position]
        else:
            months = sum(n for (offset, _), n in self.months.items() if offset == k)
        if not months:
            return 0.0, np.array([])
        own = rows[rows["cell"] == cell]
        pool = own if len(own) >= NEW_MIN_AMOUNTS else rows
        return len(own) / months, pool["amount"].to_numpy(dtype=float)


def new_business_history(history: DealHistory, as_of: pd.Timestamp, horizon: int,
                         cells: pd.DataFrame) -> NewBusiness:
    """Time-honest: only deals won before as_of's month, in months that ended by then."""
    d = history.deals
    current = month_start(as_of)
    columns = ["k", "position", "cell", "amount"]
    if d["closed_at"].isna().all():
        return NewBusiness(pd.DataFrame(columns=columns), Counter())
    first = month_start(d["closed_at"].min())
    months = Counter((k, _position(add_months(o, k)))
                     for o in pd.date_range(first, add_months(current, -1), freq="MS")
                     for k in range(horizon) if add_months(o, k) < current)
    won = d[d["is_won"] & (d["closed_at"] < current)]
    won_month = won["closed_at"].dt.to_period("M")
    position = ((won_month.dt.month - 1) % 3).to_numpy()
    amount = won["booked_amount"].fillna(won["amount"]).fillna(0).to_numpy()
    cell = _cell_index(won, cells)
    parts = []
    for k in range(horizon):
        origin = (won_month - k).dt.to_timestamp()
        seen = ((origin >= first) & (won["created_at"] > origin)).to_numpy()
        parts.append(pd.DataFrame({"k": k, "position": position[seen], "cell": cell[seen],
                                   "amount": amount[seen]}, columns=columns))
    return NewBusiness(pd.concat(parts, ignore_index=True), months)


def simulate_new(business: NewBusiness, as_of: pd.Timestamp, horizon: int, n_cells: int,
                 n_simulations: int, rng: np.random.Generator) -> np.ndarray:
    """(simulations, horizon, cells): per cell, a Poisson count of new deals, each with an
    amount drawn from the past ones; this month's rate scaled by the share left of it."""
    new = np.zeros((n_simulations, horizon, n_cells))
    month_left = 1.0 - (as_of - month_start(as_of)).days / as_of.days_in_month
    draw = np.arange(n_simulations)
    for k in range(horizon):
        position = _position(add_months(as_of, k))
        for cell in range(n_cells):
            rate, amounts = business.rate_and_amounts(k, position, cell)
            if rate == 0 or not len(amounts):
                continue
            counts = rng.poisson(rate * (month_left if k == 0 else 1.0), n_simulations)
            values = rng.choice(amounts, size=int(counts.sum()))
            new[:, k, cell] = np.bincount(np.repeat(draw, counts), weights=values,
                                          minlength=n_simulations)
    return new


def simulate(history: DealHistory, open_deals: pd.DataFrame, probs: np.ndarray,
             as_of, n_simulations: int = N_SIMULATIONS, seed: int = RANDOM_STATE
             ) -> Bookings:
    """`open_deals` (snapshot rows: deal_id, team, owner, amount) with their class
    probabilities (features.HORIZON_MONTHS + 1 columns) -> simulated bookings."""
    as_of = pd.Timestamp(as_of)
    rng = np.random.default_rng(seed)
    horizon = probs.shape[1] - 1
    cells = cells_of(history)
    n_cells, n_cat = len(cells), len(CATEGORIES)

    cell = _cell_index(open_deals, cells)
    category = pd.Categorical(category_for(1 - probs[:, -1]), categories=CATEGORIES).codes
    onehot = np.zeros((len(open_deals), n_cells * n_cat))
    onehot[np.arange(len(open_deals)), cell * n_cat + category] = 1.0

    amounts = open_deals["amount"].fillna(0).to_numpy(dtype=float)
    ratios = amount_ratios(history, as_of)
    cum = probs.cumsum(axis=1)
    existing = np.zeros((n_simulations, horizon, n_cells, n_cat))
    for start in range(0, n_simulations, 250):  # bounded memory: 250 futures at a time
        s = min(250, n_simulations - start)
        u = rng.random((s, len(open_deals)))
        month = (u[:, :, None] >= cum[None, :, :-1]).sum(axis=2)  # horizon means not won
        value = amounts[None, :] * rng.choice(ratios, size=(s, len(open_deals)))
        for k in range(horizon):
            booked = np.where(month == k, value, 0.0) @ onehot
            existing[start:start + s, k] = booked.reshape(s, n_cells, n_cat)

    new = simulate_new(new_business_history(history, as_of, horizon, cells), as_of, horizon,
                       n_cells, n_simulations, rng)

    closed = np.zeros((horizon, n_cells))
    closed[0] = _won_in_month(history, month_start(as_of), cells, until=as_of)
    return Bookings(as_of, cells, existing, new, closed)
