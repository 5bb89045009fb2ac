-- One row per live lead: firmographics, engagement and outcome, the feature table of the
-- lead-scoring model. Its columns are a contract (dbt_project/CONTRACTS.md), enforced by
-- dbt at build time. Scores are not here: they are computed from this table and joined
-- back in fct_leads, so the lineage stays a graph without cycles.
-- The select is macros/lead_features_select.sql (fct_leads reads it for its changed leads).
{{ lead_features_select() }}
