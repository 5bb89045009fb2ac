with

source as (

    select * from {{ source('app', 'tasks') }}

),

renamed as (

    select
        id as task_id,
        title,
        status,
        priority,
        task_type,
        due_at,
        completed_at,
        assignee_id,
        contact_id,
        lead_id,
        deal_id,
        created_at,
        deleted_at is not null as is_deleted
    from source

)

select * from renamed
