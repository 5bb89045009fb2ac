with

source as (

    select * from {{ source('app', 'accounts') }}

),

renamed as (

    select
        id as account_id,
        name as account_name,
        domain::text as domain,
        industry,
        segment,
        employees,
        annual_revenue,
        country,
        city,
        owner_id,
        is_customer,
        created_at,
        updated_at,
        deleted_at is not null as is_deleted
    from source

)

select * from renamed
