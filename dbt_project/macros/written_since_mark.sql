{#
    Rows of the app, raw and ml tables written since a model's last run, found by
    PostgreSQL's xmin (the id of the transaction that wrote a row version: an insert or an
    update) instead of a timestamp column that a writer may not keep. Its one home.

    The mark: each model using it keeps, in `intermediate.incremental_marks` (created by
    the project's on-run-start), the oldest transaction still running when its last run
    started (`pg_snapshot_xmin`, a 64-bit id): the pre-hook `take_xid_mark` stores it as
    pending before the model's select, the post-hook `commit_xid_mark` makes it the mark, in
    the model's transaction (a failed run keeps the old mark). Every row the select could
    not see was written by a transaction at or after that one, so the next run reads it:
    rows written during a run are read again, never missed.

    `written_since_mark(alias)` is true for a row of `alias` (a table, not a view: xmin is
    a table's system column) written by a transaction at or after the mark. xmin holds the
    id's low 32 bits; its distance back from the snapshot's next id, modulo 2^32, is the
    true distance for every row written since the mark (fewer than 2^32 transactions ago),
    and a row older than that may only look newer (a frozen row whose id wrapped): read
    again, never missed. Without a mark (a first run) every row counts as written.
    Hard deletes leave no row: they wait for the daily full build (soft deletes are writes).
#}
{% macro xid_marks_table() -%}
    intermediate.incremental_marks
{%- endmacro %}

{% macro create_xid_marks_table() -%}
    create schema if not exists intermediate;
    create table if not exists {{ xid_marks_table() }} (
        model text primary key,
        xid_mark bigint,
        pending_xid_mark bigint,
        marked_at timestamptz
    )
{%- endmacro %}

{% macro _xid_mark_key() -%}
    '{{ this.schema }}.{{ this.identifier }}'
{%- endmacro %}

{% macro take_xid_mark() -%}
    insert into {{ xid_marks_table() }} (model, pending_xid_mark)
    values ({{ _xid_mark_key() }}, pg_snapshot_xmin(pg_current_snapshot())::text::bigint)
    on conflict (model) do update set pending_xid_mark = excluded.pending_xid_mark
{%- endmacro %}

{% macro commit_xid_mark() -%}
    update {{ xid_marks_table() }} set xid_mark = pending_xid_mark, marked_at = now()
    where model = {{ _xid_mark_key() }}
{%- endmacro %}

{% macro written_since_mark(alias) -%}
    {%- set next_xid = "(select pg_snapshot_xmax(pg_current_snapshot())::text::bigint)" -%}
    (({{ next_xid }} - {{ alias }}.xmin::text::bigint) % 4294967296 + 4294967296) % 4294967296
        <= {{ next_xid }} - coalesce(
            (select xid_mark from {{ xid_marks_table() }} where model = {{ _xid_mark_key() }}), 0)
{%- endmacro %}

{# A row of a table dbt wrote (`alias`, with the `refreshed_at` (`column`) of the run that
   wrote it) written since this model's last run: the time its mark was committed, its own run's
   `now()` (an upstream model of the same run started before). Unlike xmin against the
   mark, this does not read again what a model running in parallel held back (after a
   full build, every upstream row), and it holds in the post-hook as in the select. #}
{% macro written_since_last_run(alias, column='refreshed_at') -%}
    {{ alias }}.{{ column }} > coalesce(
        (select marked_at from {{ xid_marks_table() }} where model = {{ _xid_mark_key() }}),
        '-infinity'::timestamptz)
{%- endmacro %}

{# The ids of the contacts written since the mark (and of `extra_contact_ids`, selects of
   contact ids). A contact's golden record changes only when a contact on its merge chain
   is written, and both then resolve to the same golden record: so `goldens_of` these,
   then `members_of` those, is every contact whose resolution may have moved. #}
{% macro contacts_written_since_mark(extra_contact_ids=[]) -%}
    select contacts.id from {{ source('app', 'contacts') }} as contacts
    where {{ written_since_mark('contacts') }}
    {%- for select in extra_contact_ids %}
    union all
    {{ select }}
    {%- endfor %}
{%- endmacro %}

{% macro goldens_of(contact_ids) -%}
    select golden_contact_id from {{ ref('int_contacts__resolved_to_golden') }}
    where contact_id = any(array({{ contact_ids }}))
{%- endmacro %}

{% macro members_of(golden_ids) -%}
    select contact_id from {{ ref('int_contacts__resolved_to_golden') }}
    where golden_contact_id = any(array({{ golden_ids }}))
{%- endmacro %}

{# Golden records a duplicate moved to or from since `since` (a timestamp expression):
   int_contacts__merges_tracked keeps the golden record before a merge's last change, which
   no row of the current data names. #}
{% macro goldens_of_merges_changed_since(since) -%}
    select golden_contact_id from {{ ref('int_contacts__merges_tracked') }}
    where changed_at > {{ since }} and golden_contact_id is not null
    union all
    select previous_golden_contact_id from {{ ref('int_contacts__merges_tracked') }}
    where changed_at > {{ since }} and previous_golden_contact_id is not null
{%- endmacro %}

{# The contacts whose golden record may have moved since the mark: the members of the golden
   records of the contacts written since (and of `extra_contact_ids`). #}
{% macro contacts_resolved_since_mark(extra_contact_ids=[]) -%}
    {{ members_of(goldens_of(contacts_written_since_mark(extra_contact_ids))) }}
{%- endmacro %}

{# The golden records whose contact-level inputs moved since a model's last run: those of
   the contacts written since the mark (and of `extra_contact_ids`), those a duplicate moved
   to or from since the model's last refresh, and those whose touchpoints were (re)linked
   since. A model using it keeps `refreshed_at` and reads int_touchpoints__linked_to_contacts
   and int_contacts__merges_tracked (`-- depends_on:` both). #}
{% macro golden_contacts_touched_since_mark(extra_contact_ids=[]) -%}
    {{ goldens_of(contacts_written_since_mark(extra_contact_ids)) }}

    union

    {{ goldens_of_merges_changed_since(last_refresh()) }}

    union

    select contact_id from {{ ref('int_touchpoints__linked_to_contacts') }}
    where {{ written_since_last_refresh('linked_at', lookback=false) }}
{%- endmacro %}

{# The deals written since the mark, and those whose stage history was: where the models
   kept by deal (fct_deals, int_deals__stage_history_sequenced) start their changed keys. #}
{% macro deals_written_since_mark() -%}
    select deals.id from {{ source('app', 'sales_pipeline') }} as deals
    where {{ written_since_mark('deals') }}

    union

    select history.deal_id from {{ source('app', 'deal_stage_history') }} as history
    where {{ written_since_mark('history') }}
{%- endmacro %}

{# The stages written since the mark, or of a pipeline written since (their names,
   positions, probabilities and closed flags feed every deal in them). #}
{% macro stages_written_since_mark() -%}
    select stages.id from {{ source('app', 'pipeline_stages') }} as stages
    where {{ written_since_mark('stages') }}
       or stages.pipeline_id = any(array(
            select pipelines.id from {{ source('app', 'pipelines') }} as pipelines
            where {{ written_since_mark('pipelines') }}))
{%- endmacro %}

{# Post-hook of the models kept by deal: drop the rows of the deals deleted since the mark
   (delete+insert deletes only the keys it inserts). #}
{% macro delete_deals_deleted_since_mark() -%}
    delete from {{ this }} where deal_id in (select deals.id from
        {{ source('app', 'sales_pipeline') }} as deals
        where {{ written_since_mark('deals') }} and deals.deleted_at is not null)
{%- endmacro %}
