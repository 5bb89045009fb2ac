with

source as (

    select * from {{ source('ml', 'lead_scores') }}

),

renamed as (

    select
        id as lead_score_id,
        lead_id,
        score::integer as score,
        band as score_band,
        probability::double precision as score_probability,
        model_name,
        model_version,
        mlflow_run_id,
        scored_at
    from source

)

select * from renamed
