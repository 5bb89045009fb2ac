-- Every contact mapped to its golden record: follow merged_into_id until a contact that was
-- not merged (chains are short; the depth cap guards against a cycle in bad data).
with recursive

contacts as (

    select contact_id, merged_into_id, is_deleted from {{ ref('stg_app__contacts') }}

),

chain as (

    select
        contact_id,
        contact_id as golden_contact_id,
        merged_into_id,
        0 as depth
    from contacts

    union all

    select
        chain.contact_id,
        contacts.contact_id as golden_contact_id,
        contacts.merged_into_id,
        chain.depth + 1 as depth
    from chain
    inner join contacts on contacts.contact_id = chain.merged_into_id
    where chain.depth < 20

),

resolved as (

    select distinct on (contact_id)
        contact_id,
        golden_contact_id,
        merged_into_id is null as reached_golden,
        depth as merge_depth
    from chain
    order by contact_id, depth desc

)

select
    resolved.contact_id,
    resolved.golden_contact_id,
    resolved.merge_depth,
    resolved.reached_golden and not golden.is_deleted as is_golden_live
from resolved
inner join contacts as golden on golden.contact_id = resolved.golden_contact_id
