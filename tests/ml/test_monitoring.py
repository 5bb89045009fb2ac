"""Drift monitoring (ml.monitoring): PSI low on data from the training distribution, high on
shifted data; written to ml.model_drift and read back as the model's latest check."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa

from ml import monitoring

THRESHOLD = 0.2


def leads(n: int, seed: int, shift: float = 0.0, web_share: float = 0.3) -> pd.DataFrame:
    """Leads with a number, a 0/1 flag, a category and some missing values; `shift` moves
    the number by that many standard deviations, `web_share` changes the category mix."""
    rng = np.random.default_rng(seed)
    visits = rng.normal(10 + 4 * shift, 4, n)
    visits[rng.random(n) < 0.05] = np.nan
    others = (1 - web_share) / 2
    return pd.DataFrame({
        "visits": visits,
        "has_phone": (rng.random(n) < 0.6).astype(float),
        "lead_source": rng.choice(["web", "event", "referral"], n,
                                  p=[web_share, others, others]).astype(object),
    })


def scores(n: int, seed: int, a: float = 2.0, b: float = 5.0) -> np.ndarray:
    return np.random.default_rng(seed).beta(a, b, n)


@pytest.fixture(scope="module")
def reference() -> dict:
    return monitoring.reference_profile(leads(5000, seed=1), scores(1000, seed=1))


def by_feature(drifts: list[monitoring.Drift]) -> dict[str, monitoring.Drift]:
    return {d.feature: d for d in drifts}


def test_same_distribution_gives_a_low_psi(reference):
    drifts = by_feature(monitoring.compare(reference, leads(3000, seed=2), scores(3000, seed=2),
                                           THRESHOLD))
    assert set(drifts) == {"visits", "has_phone", "lead_source", monitoring.SCORE}
    for d in drifts.values():
        assert 0 <= d.psi < 0.02, (d.feature, d.psi)
        assert not d.drifted
    assert drifts[monitoring.SCORE].kind == "score" and drifts["visits"].kind == "feature"
    assert not monitoring.summarise(list(drifts.values())).flagged


def test_shifted_data_gives_a_high_psi_and_flags(reference):
    shifted = leads(3000, seed=3, shift=1.0, web_share=0.8)
    drifts = by_feature(monitoring.compare(reference, shifted, scores(3000, seed=3, a=5, b=2),
                                           THRESHOLD))
    assert drifts["visits"].psi > 0.5 and drifts["visits"].drifted
    assert drifts["lead_source"].psi > 0.3 and drifts["lead_source"].drifted
    assert drifts[monitoring.SCORE].psi > 1.0 and drifts[monitoring.SCORE].drifted
    assert drifts["has_phone"].psi < 0.02  # untouched: not flagged
    summary = monitoring.summarise(list(drifts.values()))
    assert summary.flagged
    assert set(summary.drifted) == {"visits", "lead_source", monitoring.SCORE}
    assert summary.max_feature_psi == max(drifts["visits"].psi, drifts["lead_source"].psi)
    # the mean moved by the shift (4 = one standard deviation)
    assert drifts["visits"].current_mean - drifts["visits"].reference_mean == pytest.approx(
        4, abs=0.5)


def test_unseen_categories_and_missing_values_get_their_own_bins(reference):
    odd = leads(1000, seed=4).assign(lead_source="partner", visits=np.nan)
    drifts = by_feature(monitoring.compare(reference, odd, scores(1000, seed=4), THRESHOLD))
    source = drifts["lead_source"].distribution
    assert source["bins"][-1] == monitoring.OTHER and source["current"][-1] == 1.0
    visits = drifts["visits"].distribution
    assert visits["bins"][-1] == monitoring.MISSING and visits["current"][-1] == 1.0
    assert drifts["visits"].current_mean is None
    assert len(visits["bins"]) == len(visits["reference"]) == len(visits["current"])
    assert sum(visits["reference"]) == pytest.approx(1.0)


def test_psi_is_zero_for_equal_shares_and_symmetric():
    assert monitoring.psi([0.5, 0.5], [0.5, 0.5]) == 0
    assert monitoring.psi([0.2, 0.8], [0.8, 0.2]) == pytest.approx(
        monitoring.psi([0.8, 0.2], [0.2, 0.8]))
    assert monitoring.psi([0.2, 0.8], [0.8, 0.2]) == pytest.approx(0.6 * np.log(4) * 2)


def test_a_feature_the_rows_lack_is_an_error(reference):
    with pytest.raises(ValueError, match="lack the reference's features"):
        monitoring.compare(reference, leads(10, seed=5).drop(columns="visits"), scores(10, 5),
                           THRESHOLD)


def test_record_and_latest_check(clean_db: sa.Engine, reference):
    same = monitoring.compare(reference, leads(500, seed=6), scores(500, seed=6), THRESHOLD)
    with clean_db.begin() as conn:
        assert monitoring.record(conn, "m", "1", "run1", same) == 4
    shifted = monitoring.compare(reference, leads(500, seed=7, shift=2), scores(500, seed=7),
                                 THRESHOLD)
    with clean_db.begin() as conn:
        monitoring.record(conn, "m", "2", "run2", shifted)
    with clean_db.connect() as conn:
        latest = monitoring.latest_check(conn, "m")
        assert monitoring.latest_check(conn, "other").empty
        rows = conn.execute(sa.text("select count(distinct checked_at) from ml.model_drift"
                                    " where model_name = 'm'")).scalar()
    assert rows == 2
    assert set(latest["model_version"]) == {"2"} and len(latest) == 4
    assert latest.iloc[0]["feature"] == "visits" and bool(latest.iloc[0]["drifted"])
    assert latest["psi"].is_monotonic_decreasing
