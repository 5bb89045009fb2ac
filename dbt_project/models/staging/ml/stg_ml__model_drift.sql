with

source as (

    select * from {{ source('ml', 'model_drift') }}

),

renamed as (

    select
        id as model_drift_id,
        model_name,
        model_version,
        mlflow_run_id,
        checked_at,
        kind as measured_kind,
        feature,
        psi::double precision as psi,
        threshold::double precision as psi_threshold,
        drifted as is_drifted,
        rows_reference,
        rows_current,
        reference_mean,
        current_mean
    from source

)

select * from renamed
