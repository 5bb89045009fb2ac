-- Every contact mapped to its golden record: follow merged_into_id until a contact that was
-- not merged (chains are short; the depth cap guards against a cycle in bad data).
-- A contact never merged is its own golden record: that branch is a plain select, so a
-- filter on the contact (e.g. an incremental model's changed keys) reaches the contacts'
-- primary key; only the merged contacts (few) go through the recursive chain.
with recursive

-- not materialized: read several times, it would otherwise be computed for every contact
contacts as not materialized (

    select contact_id, merged_into_id, is_deleted from {{ ref('stg_app__contacts') }}

),

chain as (

    select
        contact_id,
        contact_id as golden_contact_id,
        merged_into_id,
        0 as depth
    from contacts
    where merged_into_id is not null

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

merged as (

    select distinct on (contact_id)
        contact_id,
        golden_contact_id,
        merged_into_id is null as reached_golden,
        depth as merge_depth
    from chain
    order by contact_id, depth desc

)

select
    contact_id,
    contact_id as golden_contact_id,
    0 as merge_depth,
    not is_deleted as is_golden_live
from contacts
where merged_into_id is null

union all

select
    merged.contact_id,
    merged.golden_contact_id,
    merged.merge_depth,
    merged.reached_golden and not golden.is_deleted as is_golden_live
from merged
inner join contacts as golden on golden.contact_id = merged.golden_contact_id
