with

source as (

    select * from {{ source('ml', 'sentiment_analysis') }}

),

renamed as (

    select
        id as sentiment_id,
        interaction_id,
        label as sentiment_label,
        score::double precision as sentiment_score,
        model_name,
        model_version,
        scored_at
    from source

)

select * from renamed
