"""Feature contributions: the table-based tree SHAP values equal SHAP's TreeExplainer, and
the reasons as JSON text equal json.dumps of the reasons as lists."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.pipeline import Pipeline

from ml import explain, store
from ml.lead_scoring import features
from ml.lead_scoring.model import ISOTONIC_MIN_ROWS, build_model, threads_for
from tests.ml.test_lead_scoring import synthetic_leads


@pytest.fixture(scope="module")
def fitted():
    frame = synthetic_leads(600, seed=3)
    frame.loc[::9, "employees"] = np.nan  # missing values take the trees' missing branch
    X, y = features.build(frame), frame["is_converted"].astype(int)
    with threads_for(len(X)):
        return build_model(len(X)).fit(X, y), X


def test_tree_contributions_equal_shaps_tree_explainer(fitted):
    model, X = fitted
    ours = explain.tree_contributions(model, X)
    reference = explain.shap_contributions(model, X)
    assert list(ours.columns) == list(reference.columns) == features.FEATURES
    np.testing.assert_allclose(ours.to_numpy(), reference.to_numpy(), atol=1e-9)
    assert ours.abs().to_numpy().max() > 0.01  # not trivially zero


@pytest.fixture(scope="module")
def isotonic():
    """A model with isotonic calibration (it needs ISOTONIC_MIN_ROWS rows), and leads to
    score with missing numbers and categories never seen in training."""
    frame = synthetic_leads(ISOTONIC_MIN_ROWS + 200, seed=5)
    frame.loc[::7, "employees"] = np.nan
    X, y = features.build(frame), frame["is_converted"].astype(int)
    with threads_for(len(X)):
        model = build_model(len(X)).fit(X, y)
    new = features.build(synthetic_leads(900, seed=6))
    new.loc[new.index[::5], "email_opens"] = np.nan
    new.loc[new.index[::11], "country"] = "atlantis"
    return model, new


@pytest.mark.parametrize("which", ["fitted", "isotonic"])
def test_one_pass_gives_predict_proba_bit_for_bit(which, request):
    """The probability summed from the leaves the SHAP pass reaches equals scikit-learn's
    predict_proba exactly (sigmoid and isotonic calibration), and the SHAP values equal the
    explanation alone."""
    model, X = request.getfixturevalue(which)
    assert model[-1].method == ("sigmoid" if which == "fitted" else "isotonic")
    probability, contributions = explain.tree_explainer(model).predict_and_explain(X)
    assert np.array_equal(probability, model.predict_proba(X)[:, 1])
    assert probability.std() > 0.05  # not a constant
    pd.testing.assert_frame_equal(contributions, explain.tree_contributions(model, X))


def test_models_the_tables_do_not_cover_are_predicted_by_the_pipeline(fitted, monkeypatch):
    model, X = fitted
    uncalibrated = Pipeline([("prep", model[0]), ("model", HistGradientBoostingClassifier(
        max_iter=20, max_depth=3).fit(model[0].transform(X), model.predict(X)))])
    probability, _ = explain.tree_explainer(uncalibrated).predict_and_explain(X)
    assert np.array_equal(probability, uncalibrated.predict_proba(X)[:, 1])
    monkeypatch.setattr(explain, "MAX_TABLE_SPLITS", 0)  # every tree too deep: SHAP's path
    probability, contributions = explain.tree_explainer(model).predict_and_explain(X)
    assert np.array_equal(probability, model.predict_proba(X)[:, 1])
    np.testing.assert_allclose(contributions.to_numpy(),
                               explain.shap_contributions(model, X).to_numpy(), atol=1e-12)


def test_reasons_json_is_json_dumps_of_top_reasons(fitted):
    model, X = fitted
    X = X.copy()
    X.loc[X.index[:5], "industry"] = ['say "hi"', "back\\slash", "café", "tab\there", "x"]
    X.loc[X.index[5:10], "employees"] = [np.nan, -0.0, 1e-05, 1e16, 3.0]
    contributions = explain.tree_contributions(model, X)
    contributions.iloc[0, 0] = -0.0
    ours = explain.reasons_json(contributions, X, k=3)
    expected = [json.dumps(r) for r in explain.top_reasons(contributions, X, k=3)]
    assert list(ours) == expected
    assert len(explain.reasons_json(contributions.iloc[:0], X.iloc[:0])) == 0


def test_copy_frame_escapes_text_and_writes_nulls(clean_db: sa.Engine):
    texts = ['{"a": "b\\\\c"}', "tab\there", "line\nbreak", None]
    with clean_db.begin() as conn:
        conn.execute(sa.text("create temporary table copied (n bigint, x float8, body text)"))
        frame = pd.DataFrame({"n": [1, 2, 3, 4], "x": [0.1, np.nan, 1e-05, -2.5], "body": texts})
        assert store.copy_frame(conn, "pg_temp.copied", frame, chunk_rows=3) == 4
        rows = conn.execute(sa.text("select n, x, body from copied order by n")).all()
    assert [r.body for r in rows] == texts
    assert [r.x for r in rows][0] == 0.1 and rows[1].x is None and rows[2].x == 1e-05
    with clean_db.begin() as conn, pytest.raises(ValueError, match="NUL"):
        conn.execute(sa.text("create temporary table nul (body text)"))
        store.copy_frame(conn, "pg_temp.nul", pd.DataFrame({"body": ["a\0b", "c"]}))
