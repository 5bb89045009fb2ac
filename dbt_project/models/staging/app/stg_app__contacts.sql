with

source as (

    select * from {{ source('app', 'contacts') }}

),

renamed as (

    select
        id as contact_id,
        account_id,
        owner_id,
        merged_into_id,
        first_name,
        last_name,
        nullif(btrim(concat_ws(' ', first_name, last_name)), '') as full_name,
        email::text as email,
        coalesce(email_normalized, app.normalize_email(email::text)) as email_normalized,
        phone is not null as has_phone,  -- sealed: only its presence is used
        title,
        lifecycle_stage,
        source as first_source,
        marketing_consent,
        consent_at,
        email_opt_out,
        created_at,
        updated_at,
        deleted_at,
        deleted_at is not null as is_deleted,
        merged_into_id is not null as is_merged
    from source

)

select * from renamed
