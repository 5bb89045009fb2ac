"""Marketing campaigns (20 to 60): a few parent programs and dated child campaigns.

Each child serves one lead source (paid search ads bring "Paid Search" leads, webinars bring
"Webinar" leads...), which is how people, touchpoints and UTM tags point at campaigns.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import pandas as pd

from salesops.demo import clock, ids

CAMPAIGN_COLUMNS = [
    "Id", "Name", "Type", "Status", "StartDate", "EndDate", "BudgetedCost", "ActualCost",
    "ExpectedRevenue", "IsActive", "ParentId", "Channel__c",
]
THEMES = ("Pipeline Analytics", "Revenue Forecasting", "Lead Scoring", "Sales Automation",
          "Marketing Attribution", "Data Platform")
# source served -> (Type, Channel__c, weight, budget median, duration days (min, max))
KINDS = {
    "Paid Search": ("Advertisement", "paid_search", 0.20, 20_000, (30, 90)),
    "Social Media": ("Advertisement", "paid_social", 0.14, 15_000, (30, 60)),
    "Email": ("Email", "email", 0.22, 2_000, (7, 30)),
    "Webinar": ("Webinar", "events", 0.20, 6_000, (1, 1)),
    "Trade Show": ("Trade Show", "events", 0.12, 60_000, (2, 4)),
    "Partner Referral": ("Partners", "partner", 0.08, 10_000, (90, 180)),
    "Employee Referral": ("Referral Program", "referral", 0.04, 5_000, (180, 365)),
}
def _day(iso: str) -> int:
    return int(np.datetime64(iso, "s").astype(np.int64))


# parent campaigns: (name, start, end); fiscal years start on 1 July
PROGRAMS = (("FY2025 Demand Generation", _day("2024-07-01"), _day("2025-06-30")),
            ("FY2026 Demand Generation", _day("2025-07-01"), _day("2026-06-30")),
            ("Partner Program", _day("2024-07-01"), _day("2026-12-31")))


def utm_slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")


@dataclass(frozen=True)
class Campaigns:
    frame: pd.DataFrame  # Campaign.csv rows
    source: np.ndarray  # lead source each campaign serves ("" for programs)
    start: np.ndarray

    @property
    def names(self) -> np.ndarray:
        return self.frame["Name"].to_numpy()

    @property
    def utm(self) -> np.ndarray:
        """utm_campaign values: the names as URL slugs."""
        return np.array([utm_slug(name) for name in self.names], dtype=object)

    def pick(self, rng: np.random.Generator, source: np.ndarray, t: np.ndarray) -> np.ndarray:
        """The campaign that brought each person in: one serving their lead source and
        started shortly before `t` (-1 where no campaign serves the source)."""
        out = np.full(len(source), -1, dtype=np.int64)
        for name in KINDS:
            rows = np.flatnonzero(source == name)
            pool = np.flatnonzero(self.source == name)
            if len(rows) == 0 or len(pool) == 0:
                continue
            pool = pool[np.argsort(self.start[pool], kind="stable")]
            latest = np.searchsorted(self.start[pool], t[rows], side="right") - 1
            back = rng.integers(0, 2, size=len(rows))
            out[rows] = pool[np.clip(latest - back, 0, len(pool) - 1)]
        return out


def _name(rng: np.random.Generator, source: str, start: int) -> str:
    day = np.datetime64(start, "s").astype("datetime64[D]").item()
    quarter = f"{day.year}-Q{(day.month - 1) // 3 + 1}"
    theme = THEMES[rng.integers(len(THEMES))]
    return {
        "Paid Search": f"{quarter} Paid Search - {theme}",
        "Social Media": f"{quarter} LinkedIn Ads - {theme}",
        "Email": f"{quarter} Nurture - {theme}",
        "Webinar": f"Webinar: {theme} in Practice ({day:%b %Y})",
        "Trade Show": f"RevOps Summit {day:%B %Y}",
        "Partner Referral": f"Partner Co-Marketing {quarter}",
        "Employee Referral": f"Customer Referral Program {day.year}",
    }[source]


def build(rng: np.random.Generator, scale: int) -> Campaigns:
    n_children = int(np.clip(20 + scale // 2_500, 20, 60)) - len(PROGRAMS)
    kinds = list(KINDS)
    weights = np.array([KINDS[k][2] for k in kinds])
    served = rng.choice(kinds, size=n_children, p=weights / weights.sum())
    served[: len(kinds)] = kinds  # every source has at least one campaign
    start = clock.ANCHOR - rng.integers(clock.DAY, clock.HISTORY_DAYS * clock.DAY, n_children)
    length = np.array([rng.integers(KINDS[k][4][0], KINDS[k][4][1] + 1) for k in served])
    end = start + length * clock.DAY
    budget = np.round(np.array([KINDS[k][3] for k in served])
                      * rng.lognormal(0, 0.35, n_children), -2)

    names, seen = [], set()
    for k, s in zip(served, start, strict=True):
        base = name = _name(rng, k, int(s))
        copy = 2
        while name in seen:
            name, copy = f"{base} #{copy}", copy + 1
        seen.add(name)
        names.append(name)

    status = np.where(end < clock.ANCHOR, "Completed", "In Progress")
    status = np.where((status == "Completed") & (rng.random(n_children) < 0.04), "Aborted", status)
    actual = np.round(budget * rng.uniform(0.7, 1.15, n_children), -2)
    parent_no = np.where(served == "Partner Referral", 2, (start >= PROGRAMS[1][1]).astype(int))

    n = n_children + len(PROGRAMS)
    campaign_ids = ids.salesforce("701", np.arange(n))
    program_start = np.array([p[1] for p in PROGRAMS])
    program_end = np.array([p[2] for p in PROGRAMS])
    program_budget = np.array([budget[parent_no == i].sum() for i in range(len(PROGRAMS))])
    all_status = np.concatenate([
        np.where(program_end < clock.ANCHOR, "Completed", "In Progress"), status])
    frame = pd.DataFrame({
        "Id": campaign_ids,
        "Name": [p[0] for p in PROGRAMS] + names,
        "Type": ["Other"] * 3 + [KINDS[k][0] for k in served],
        "Status": all_status,
        "StartDate": clock.sf_date(np.concatenate([program_start, start])),
        "EndDate": clock.sf_date(np.concatenate([program_end, end])),
        "BudgetedCost": np.concatenate([program_budget, budget]).astype(np.int64).astype(str),
        "ActualCost": [""] * 3 + list(actual.astype(np.int64).astype(str)),
        "ExpectedRevenue": np.round(np.concatenate([program_budget, budget])
                                    * rng.uniform(3, 8, n), -2).astype(np.int64).astype(str),
        "IsActive": np.where(all_status == "In Progress", "true", "false"),
        "ParentId": [""] * 3 + list(campaign_ids[parent_no]),
        "Channel__c": [""] * 3 + [KINDS[k][1] for k in served],
    }, columns=CAMPAIGN_COLUMNS)
    return Campaigns(
        frame=frame,
        source=np.array([""] * 3 + list(served), dtype=object),
        start=np.concatenate([program_start, start]),
    )
