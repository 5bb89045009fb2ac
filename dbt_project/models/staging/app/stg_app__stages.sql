with

stages as (

    select * from {{ source('app', 'pipeline_stages') }}

),

pipelines as (

    select * from {{ source('app', 'pipelines') }}

),

renamed as (

    select
        stages.id as stage_id,
        stages.pipeline_id,
        pipelines.name as pipeline_name,
        stages.name as stage_name,
        stages.position as stage_position,
        stages.probability,
        stages.forecast_category,
        stages.is_closed,
        stages.is_won
    from stages
    left join pipelines on pipelines.id = stages.pipeline_id

)

select * from renamed
