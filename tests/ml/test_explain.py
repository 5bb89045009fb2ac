"""Feature contributions: the table-based tree SHAP values equal SHAP's TreeExplainer, and
the reasons as JSON text equal json.dumps of the reasons as lists."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa

from ml import explain, store
from ml.lead_scoring import features
from ml.lead_scoring.model import build_model
from tests.ml.test_lead_scoring import synthetic_leads


@pytest.fixture(scope="module")
def fitted():
    frame = synthetic_leads(600, seed=3)
    frame.loc[::9, "employees"] = np.nan  # missing values take the trees' missing branch
    X, y = features.build(frame), frame["is_converted"].astype(int)
    return build_model(len(X)).fit(X, y), X


def test_tree_contributions_equal_shaps_tree_explainer(fitted):
    model, X = fitted
    ours = explain.tree_contributions(model, X)
    reference = explain.shap_contributions(model, X)
    assert list(ours.columns) == list(reference.columns) == features.FEATURES
    np.testing.assert_allclose(ours.to_numpy(), reference.to_numpy(), atol=1e-9)
    assert ours.abs().to_numpy().max() > 0.01  # not trivially zero


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
