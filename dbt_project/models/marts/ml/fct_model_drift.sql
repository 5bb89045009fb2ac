with

drift as (

    select * from {{ ref('stg_ml__model_drift') }}

),

checks as (

    select
        drift.*,
        count(*) filter (where measured_kind = 'feature' and is_drifted) over run
            as features_drifted,
        max(psi) filter (where measured_kind = 'feature') over run as max_feature_psi,
        max(psi) filter (where measured_kind = 'score') over run as score_psi,
        bool_or(is_drifted) over run as is_model_flagged,
        checked_at = max(checked_at) over (partition by model_name) as is_latest_check
    from drift
    window run as (partition by model_name, checked_at)

)

select
    model_name,
    model_version,
    mlflow_run_id,
    checked_at,
    measured_kind,
    feature,
    psi,
    psi_threshold,
    is_drifted,
    rows_reference,
    rows_current,
    reference_mean,
    current_mean,
    features_drifted,
    max_feature_psi,
    score_psi,
    is_model_flagged,
    is_latest_check
from checks
