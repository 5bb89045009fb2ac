"""Per-row feature contributions (SHAP) for a fitted `Pipeline(ColumnTransformer, trees)`.

SHAP's TreeExplainer gives exact Shapley values of the tree ensemble's raw output (log-odds)
for each encoded column; the columns one input feature was encoded into (e.g. its one-hot
columns) are summed back into that feature, which SHAP's additivity allows. For a
`CalibratedClassifierCV` the values are averaged over its fold models: calibration is a
monotone map of that raw output, so the ranking of reasons is the calibrated model's.
"""

from __future__ import annotations

import json
import math
import warnings

import numba
import numpy as np
import pandas as pd
from sklearn.calibration import CalibratedClassifierCV
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.pipeline import Pipeline


def _input_feature_of_each_column(prep: ColumnTransformer) -> list[str]:
    """For each output column of `prep`, the input column it came from."""
    owners: list[str] = []
    for _name, transformer, columns in prep.transformers_:
        if transformer == "drop" or len(columns) == 0:
            continue
        columns = list(columns)
        if transformer == "passthrough":
            owners.extend(columns)
            continue
        by_length = sorted(columns, key=len, reverse=True)
        for out in transformer.get_feature_names_out(columns):
            owner = next((c for c in by_length if out == c or out.startswith(f"{c}_")), None)
            if owner is None:
                raise ValueError(f"cannot tell which input column {out!r} came from")
            owners.append(owner)
    return owners


#: Trees with more split nodes than this are explained by SHAP's TreeExplainer itself (the
#: tables below hold 2 ** split-nodes rows per tree).
MAX_TABLE_SPLITS = 10


def _fold_models(model) -> list:
    """The tree models whose raw outputs the score averages (one, or the calibration folds)."""
    if isinstance(model, CalibratedClassifierCV):
        return [cc.estimator for cc in model.calibrated_classifiers_]
    return [model]


def _split_pipeline(pipeline: Pipeline) -> tuple[ColumnTransformer, object]:
    prep, model = pipeline[0], pipeline[-1]
    if len(pipeline) != 2 or not isinstance(prep, ColumnTransformer):
        raise TypeError("expected Pipeline([(name, ColumnTransformer), (name, tree model)])")
    return prep, model


def _grouped(values: np.ndarray, prep: ColumnTransformer, X: pd.DataFrame) -> pd.DataFrame:
    owners = _input_feature_of_each_column(prep)
    per_column = pd.DataFrame(values, index=X.index, columns=range(values.shape[1]))
    grouped = per_column.T.groupby(np.asarray(owners), sort=False).sum().T
    return grouped.reindex(columns=[c for c in X.columns if c in grouped.columns])


def shap_contributions(pipeline: Pipeline, X: pd.DataFrame) -> pd.DataFrame:
    """SHAP values (log-odds) per input feature by SHAP's TreeExplainer: exact
    (tree-path-dependent), one row at a time in C; the reference `tree_contributions`
    equals, and the path for trees too deep for its tables."""
    with warnings.catch_warnings():  # shap's plotting colours warn on import; we plot nothing
        warnings.simplefilter("ignore", PendingDeprecationWarning)
        import shap  # heavy (numba): imported only when explaining

    prep, model = _split_pipeline(pipeline)
    encoded = np.asarray(prep.transform(X), dtype=float)
    # SHAP's additivity self-check re-predicts every row with each tree model and costs
    # several times the explanation itself
    values = np.mean([np.asarray(shap.TreeExplainer(t).shap_values(encoded,
                                                                   check_additivity=False))
                      for t in _fold_models(model)], axis=0)
    if values.ndim == 3:  # (rows, columns, classes) from some explainers: keep the positive
        values = values[..., -1]
    return _grouped(values, prep, X)


def _shapley_weights(m: int) -> np.ndarray:
    """|S|! (m - |S| - 1)! / m! for |S| = 0 .. m - 1."""
    return np.array([math.factorial(k) * math.factorial(m - k - 1) / math.factorial(m)
                     for k in range(m)])


def _tree_table(nodes: np.ndarray, owner_index: np.ndarray, n_inputs: int):
    """Exact path-dependent SHAP values of one tree for every pattern of split decisions.

    A row's tree-path-dependent SHAP values depend only on which way it goes at each split
    node (reached or not): v(S) follows the row's way at splits on features in S and the
    training cover at the others. So, per tree, every pattern of ways (2 ** splits) gets its
    Shapley values over the tree's features by enumerating the subsets S, summed into the
    input features; scoring a row is then a table look-up (`_accumulate`)."""
    internal = np.flatnonzero(~nodes["is_leaf"].astype(bool))
    feats = np.unique(nodes["feature_idx"][internal])
    k, m = len(internal), len(feats)
    bit_of = {int(n): b for b, n in enumerate(internal)}
    member_of = {int(f): b for b, f in enumerate(feats)}
    patterns = np.arange(2 ** k)[:, None]
    subsets = np.arange(2 ** m)[None, :]

    def value(n: int) -> np.ndarray:
        node = nodes[n]
        if node["is_leaf"]:
            return np.full((2 ** k, 2 ** m), float(node["value"]))
        left, right = int(node["left"]), int(node["right"])
        v_left, v_right = value(left), value(right)
        c_left, c_right = float(nodes[left]["count"]), float(nodes[right]["count"])
        goes_left = (patterns >> bit_of[n]) & 1 == 1
        in_s = (subsets >> member_of[int(node["feature_idx"])]) & 1 == 1
        covered = (c_left * v_left + c_right * v_right) / max(c_left + c_right, 1.0)
        return np.where(in_s, np.where(goes_left, v_left, v_right), covered)

    v = value(0)
    weights = _shapley_weights(m) if m else np.zeros(0)
    sizes = np.array([bin(s).count("1") for s in range(2 ** m)])
    phi = np.zeros((2 ** k, n_inputs))
    for b, f in enumerate(feats):
        without = np.array([s for s in range(2 ** m) if not s >> b & 1], dtype=np.int64)
        phi[:, owner_index[f]] += (v[:, without | (1 << b)] - v[:, without]) @ weights[
            sizes[without]]
    used = np.unique(owner_index[feats])
    return (nodes["feature_idx"][internal], nodes["num_threshold"][internal],
            nodes["missing_go_to_left"][internal].astype(np.bool_), used, phi[:, used])


#: Rows the compiled pass handles at a time: a block's columns stay in the CPU's cache while
#: every tree is applied to it, one split (or one contribution) over all its rows at a time.
BLOCK_ROWS = 1024


@numba.njit(cache=True)
def _accumulate(x, feature, threshold, missing_left, n_splits, used, n_used, offset, table,
                fold, leaf_offset, leaf, out, raw):  # pragma: no cover (compiled)
    """Add each tree's SHAP values of each row of x to `out` and the leaf the row reaches to
    its fold's `raw` output, tree by tree in order (so the sums are those of a row-by-row
    walk, bit for bit), a block of rows at a time in column-major copies."""
    n_columns, n_out, n_folds = x.shape[1], out.shape[1], raw.shape[1]
    columns = np.empty((n_columns, BLOCK_ROWS))
    sums = np.empty((n_out, BLOCK_ROWS))
    raws = np.empty((n_folds, BLOCK_ROWS))
    codes = np.empty(BLOCK_ROWS, np.int64)
    for start in range(0, x.shape[0], BLOCK_ROWS):
        rows = min(x.shape[0], start + BLOCK_ROWS) - start
        for i in range(rows):
            columns[:, i] = x[start + i]
            sums[:, i] = out[start + i]
            raws[:, i] = raw[start + i]
        for t in range(feature.shape[0]):
            codes[:rows] = 0  # bit s set: the row goes left at the tree's split s
            for s in range(n_splits[t]):
                values = columns[feature[t, s]]
                limit, left_if_missing = threshold[t, s], missing_left[t, s]
                for i in range(rows):
                    left = (values[i] <= limit) | (np.isnan(values[i]) & left_if_missing)
                    codes[i] |= np.int64(left) << s
            width, base = n_used[t], offset[t]
            for u in range(width):
                total = sums[used[t, u]]
                for i in range(rows):
                    total[i] += table[base + codes[i] * width + u]
            total, first = raws[fold[t]], leaf_offset[t]
            for i in range(rows):
                total[i] += leaf[first + codes[i]]
        for i in range(rows):
            out[start + i] = sums[:, i]
            raw[start + i] = raws[:, i]


def _leaf_of_each_pattern(nodes: np.ndarray, internal: np.ndarray) -> np.ndarray:
    """The leaf value a row reaches for every pattern of split decisions (bit b set: the
    row goes left at split node internal[b]), as `_tree_table` numbers the patterns."""
    bit_of = {int(n): b for b, n in enumerate(internal)}
    patterns = np.arange(2 ** len(internal))

    def leaf(n: int) -> np.ndarray:
        node = nodes[n]
        if node["is_leaf"]:
            return np.full(len(patterns), node["value"], dtype=np.float64)
        goes_left = (patterns >> bit_of[n]) & 1 == 1
        return np.where(goes_left, leaf(int(node["left"])), leaf(int(node["right"])))

    return leaf(0)


def _trees(model) -> list | None:
    """(nodes, fold) of every tree of a HistGradientBoostingClassifier (or of each of its
    calibration folds), in the order scikit-learn adds their outputs, or None when a tree is
    too deep for tables or splits on native categories."""
    folds = _fold_models(model)
    if not all(isinstance(f, HistGradientBoostingClassifier) and f.n_trees_per_iteration_ == 1
               for f in folds):
        return None
    trees = [(p[0].nodes, i) for i, f in enumerate(folds) for p in f._predictors]
    for nodes, _ in trees:
        if (~nodes["is_leaf"].astype(bool)).sum() > MAX_TABLE_SPLITS \
                or nodes["is_categorical"].any():
            return None
    return trees


def _calibrators(model) -> list | None:
    """Each calibration fold's calibrator when the model is scikit-learn's binary
    CalibratedClassifierCV with sigmoid or isotonic calibration: its positive-class
    probability is then the mean over folds of calibrator(fold's raw output). None for any
    other model (its probability comes from its own predict_proba)."""
    if not (isinstance(model, CalibratedClassifierCV) and len(model.classes_) == 2
            and model.method in ("sigmoid", "isotonic")):
        return None
    calibrators = []
    for fold in model.calibrated_classifiers_:
        if len(fold.calibrators) != 1 \
                or not np.array_equal(fold.estimator.classes_, model.classes_):
            return None
        calibrators.append(fold.calibrators[0])
    return calibrators


def _calibrated(calibrators: list, raw: np.ndarray) -> np.ndarray:
    """The positive-class probability from each fold's raw output, as
    `CalibratedClassifierCV.predict_proba` computes it (the same operations in the same
    order, so the same floating-point values)."""
    mean = np.zeros(len(raw))
    for f, calibrator in enumerate(calibrators):
        probability = calibrator.predict(np.ascontiguousarray(raw[:, f]))
        probability[(probability > 1.0) & (probability <= 1.0 + 1e-5)] = 1.0
        mean += probability
    mean /= len(calibrators)
    return mean


def tree_contributions(pipeline: Pipeline, X: pd.DataFrame) -> pd.DataFrame:
    """SHAP values (log-odds) per input feature: one row per row of X, one column per feature.

    Exactly SHAP's tree-path-dependent values (`shap_contributions`, tested equal), computed
    from per-tree tables in one compiled pass over the rows instead of SHAP's row by
    row walk: a million leads in seconds rather than minutes."""
    return tree_explainer(pipeline)(X)


def tree_explainer(pipeline: Pipeline) -> TreeExplainer:
    """`tree_contributions` of `pipeline` as a function of X, its per-tree tables built once:
    for explaining many chunks of rows with one model."""
    return TreeExplainer(pipeline)


class TreeExplainer:
    """Feature contributions of a fitted `Pipeline(ColumnTransformer, trees)`, and its
    positive-class probability, from one encoding and one compiled pass over the trees.

    The pass that looks up each row's SHAP values evaluates every split of every tree, so it
    also knows the leaf each row reaches: summed from the model's baseline in scikit-learn's
    order and calibrated per fold as `CalibratedClassifierCV` does, these give exactly
    `pipeline.predict_proba(X)[:, 1]` (tested bit for bit) without walking the trees again.
    Models the tables do not cover are explained by SHAP and predicted by the pipeline."""

    def __init__(self, pipeline: Pipeline) -> None:
        self._pipeline = pipeline
        self._prep, model = _split_pipeline(pipeline)
        trees = _trees(model)
        self._calibrators = _calibrators(model)
        self._arrays: tuple | None = None
        if trees is None:
            return
        owners = _input_feature_of_each_column(self._prep)
        self._inputs = list(dict.fromkeys(owners))
        owner_index = np.array([self._inputs.index(o) for o in owners])
        tables = [_tree_table(nodes, owner_index, len(self._inputs)) for nodes, _ in trees]
        width = max(1, max(len(t[0]) for t in tables))
        n_used_max = max(1, max(len(t[3]) for t in tables))
        n = len(tables)
        feature = np.zeros((n, width), np.int64)
        threshold = np.zeros((n, width))
        missing_left = np.zeros((n, width), np.bool_)
        used = np.zeros((n, n_used_max), np.int64)
        n_splits, n_used, offset, fold, leaf_offset = (np.zeros(n, np.int64) for _ in range(5))
        folds = _fold_models(model)
        weight = 1.0 / len(folds)
        flat, leaves, position, leaf_position = [], [], 0, 0
        for t, ((feat, thr, miss, use, phi), (nodes, f)) in enumerate(zip(tables, trees,
                                                                           strict=True)):
            feature[t, :len(feat)], threshold[t, :len(thr)] = feat, thr
            missing_left[t, :len(miss)], used[t, :len(use)] = miss, use
            n_splits[t], n_used[t], offset[t] = len(feat), len(use), position
            fold[t], leaf_offset[t] = f, leaf_position
            flat.append((phi * weight).ravel())
            position += phi.size
            internal = np.flatnonzero(~nodes["is_leaf"].astype(bool))
            leaves.append(_leaf_of_each_pattern(nodes, internal))
            leaf_position += len(leaves[-1])
        self._baselines = np.array([float(np.ravel(f._baseline_prediction)[0]) for f in folds])
        self._arrays = (feature, threshold, missing_left, n_splits, used, n_used, offset,
                        np.concatenate(flat) if flat else np.zeros(0), fold, leaf_offset,
                        np.concatenate(leaves))

    def __call__(self, X: pd.DataFrame) -> pd.DataFrame:
        """SHAP values (log-odds) per input feature, one row per row of X."""
        return self.predict_and_explain(X, predict=False)[1]

    def predict_and_explain(self, X: pd.DataFrame, predict: bool = True
                            ) -> tuple[np.ndarray | None, pd.DataFrame]:
        """(positive-class probability, equal to `pipeline.predict_proba(X)[:, 1]`, or None
        when not `predict`; SHAP values per input feature)."""
        if self._arrays is None:
            probability = self._pipeline.predict_proba(X)[:, 1] if predict else None
            return probability, shap_contributions(self._pipeline, X)
        encoded = np.ascontiguousarray(self._prep.transform(X), dtype=np.float64)
        out = np.zeros((len(X), len(self._inputs)))
        raw = np.tile(self._baselines, (len(X), 1))
        _accumulate(encoded, *self._arrays, out, raw)
        frame = pd.DataFrame(out, index=X.index, columns=self._inputs)
        contributions = frame[[c for c in X.columns if c in frame.columns]]
        if not predict:
            return None, contributions
        if self._calibrators is None:
            return self._pipeline[-1].predict_proba(encoded)[:, 1], contributions
        return _calibrated(self._calibrators, raw), contributions


def _plain(value):
    """A JSON-friendly scalar (numpy types unwrapped, NaN as None)."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float):
        return None if math.isnan(value) else value + 0.0  # -0.0 reads as 0.0
    return value


def top_reasons(contributions: pd.DataFrame, X: pd.DataFrame, k: int = 3) -> list[list[dict]]:
    """The k largest contributions by size per row, as
    `{"feature", "value", "contribution", "direction"}` dicts (direction "up" or "down")."""
    values = contributions.to_numpy()
    features = contributions.columns.to_numpy()
    order = np.argsort(-np.abs(values), axis=1, kind="stable")[:, :k]
    raw = X[list(features)].to_numpy(dtype=object)
    reasons = []
    for i, cols in enumerate(order):
        reasons.append([
            {"feature": str(features[j]), "value": _plain(raw[i, j]),
             "contribution": round(float(values[i, j]), 4),
             "direction": "up" if values[i, j] >= 0 else "down"}
            for j in cols])
    return reasons


def _json_texts(values) -> tuple[np.ndarray, np.ndarray]:
    """(code of each value, JSON text of each code): the text as `top_reasons` gives it
    (numpy unwrapped, NaN as null), computed once per distinct value; missing values get
    the last code, "null"."""
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    uniques = np.asarray(uniques)
    if uniques.dtype.kind == "f":  # shortest round-trip text, as json.dumps writes floats
        texts = (uniques + 0.0).astype(str).astype(object)
        odd = ~np.isfinite(uniques)
        texts[odd] = [json.dumps(float(u)) for u in uniques[odd]]
    else:
        texts = np.array([json.dumps(_plain(u)) for u in uniques], dtype=object)
    return np.where(codes < 0, len(texts), codes), np.append(texts, "null")


def reasons_json(contributions: pd.DataFrame, X: pd.DataFrame, k: int = 3) -> np.ndarray:
    """`top_reasons` as JSON text per row (what `json.dumps` of its lists gives), built from
    the text of each distinct (feature, value) and each distinct contribution: per row only
    look-ups and a few joins, for scoring millions of leads."""
    values = contributions.to_numpy()
    features = contributions.columns.to_numpy()
    n = len(values)
    order = np.argsort(-np.abs(values), axis=1, kind="stable")[:, :k]
    if n == 0 or order.shape[1] == 0:
        return np.full(n, "[]", dtype=object)
    # '{"feature": name, "value": value, "contribution": ' of every feature's distinct values
    heads, first = [], np.zeros(len(features), np.int64)
    codes = np.empty(values.shape, np.int64)
    for j, feature in enumerate(features):
        codes[:, j], texts = _json_texts(X[feature].to_numpy())
        first[j] = len(heads)
        name = json.dumps(str(feature))
        heads += [f'{{"feature": {name}, "value": {text}, "contribution": ' for text in texts]
    heads = np.array(heads, dtype=object)
    rows = np.arange(n)
    parts = []
    for rank in range(order.shape[1]):
        j = order[:, rank]
        chosen = values[rows, j]
        contribution, texts = _json_texts(np.round(chosen, 4))
        tails = np.column_stack([texts + ', "direction": "up"}',
                                 texts + ', "direction": "down"}'])
        parts.append(heads[first[j] + codes[rows, j]].tolist())
        parts.append(tails[contribution, (chosen < 0).astype(np.int64)].tolist())
    layout = "[" + ", ".join(["%s%s"] * order.shape[1]) + "]"
    return np.array([layout % row for row in zip(*parts, strict=True)], dtype=object)
