"""The models' training assets wait for the dbt feature views they read: each dependency is
a dbt asset of the same graph, so materialising a model after the warehouse is one lineage."""

from __future__ import annotations

from salesops.warehouse import dbt_env


def test_model_assets_depend_on_the_dbt_views_they_read(database_url, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", database_url)
    for name, value in dbt_env(database_url).items():
        monkeypatch.setenv(name, value)
    # imported here: a stale manifest is re-parsed on import, which needs the connection
    from orchestration.definitions import defs
    from orchestration.defs import dbt, forecasting, ml

    graph = defs.resolve_asset_graph()
    dbt_keys = set(dbt.salesops_dbt.keys)
    reads = {ml.MODEL_KEY: {"lead_features"},
             forecasting.MODEL_KEY: {"deal_features", "deal_stage_features"},
             forecasting.NBA_MODEL_KEY: {"action_record_features", "action_event_features"}}
    for model, views in reads.items():
        parents = graph.get(model).parent_keys
        assert parents <= dbt_keys, model
        assert {key.path[-1] for key in parents} == views, model
