with

source as (

    select * from {{ source('app', 'contact_sources') }}

),

renamed as (

    select
        id as contact_source_id,
        contact_id,
        source,
        source_key,
        match_rule,
        linked_at
    from source

)

select * from renamed
