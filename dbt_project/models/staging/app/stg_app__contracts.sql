with

source as (

    select * from {{ source('app', 'contracts') }}

),

renamed as (

    select
        id as contract_id,
        deal_id,
        account_id,
        status,
        value is not null as has_value,
        currency,
        start_date,
        end_date,
        signed_at,
        created_at,
        deleted_at is not null as is_deleted
    from source

)

select * from renamed
