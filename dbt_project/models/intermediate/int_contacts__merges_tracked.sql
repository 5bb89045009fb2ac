-- Every contact merged into another since the last full build: the golden record it
-- resolves to now (null once un-merged), the one it resolved to before its last change, and
-- when the change was seen. The incremental models keyed on a contact or a lead read it for
-- the golden record a re-merge took a duplicate from: its member count, lineage and
-- activity change while no row of its own, and no row naming it, is written.
-- Incremental: each run compares the merged contacts (few: only they walk the merge chain
-- in int_contacts__resolved_to_golden) with the ones it holds and writes the differences.
{{
    config(
        materialized='incremental',
        unique_key='contact_id',
        incremental_strategy='delete+insert',
        on_schema_change='sync_all_columns',
        indexes=[{'columns': ['contact_id'], 'unique': True}, {'columns': ['changed_at']}],
    )
}}

with

merged_now as (

    -- merge_depth > 0: the never-merged branch of the view (merge_depth 0) is left out
    -- without reading it
    select contact_id, golden_contact_id
    from {{ ref('int_contacts__resolved_to_golden') }}
    where merge_depth > 0

),

held as (

    {% if is_incremental() -%}
    select contact_id, golden_contact_id from {{ this }}
    {%- else -%}
    -- a full build holds nothing before
    select contact_id, golden_contact_id from merged_now
    where false
    {%- endif %}

)

select
    coalesce(merged_now.contact_id, held.contact_id) as contact_id,
    merged_now.golden_contact_id,
    held.golden_contact_id as previous_golden_contact_id,
    now() as changed_at
from merged_now
full outer join held on held.contact_id = merged_now.contact_id
where held.golden_contact_id is distinct from merged_now.golden_contact_id
