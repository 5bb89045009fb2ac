"""casting rules as SQL functions: one home for merge and dbt

Revision ID: 3c9a1f0d2b47
Revises: e1dbfd949ef1
Create Date: 2026-11-25 21:20:00

Text that came from outside becomes numbers, dates, timestamps and booleans through these
functions only: the merge into `app` and dbt's staging models both call them, so the two
never read the same value differently. Each returns null for what it cannot read: amounts
accept "USD 12,000", "12k", "$1,200.50" and "1.200,50"; dates ISO, 03/04/2025 (US) and
04.03.2025; timestamps also epoch seconds or milliseconds. Needs PostgreSQL 16+
(pg_input_is_valid).
"""

from collections.abc import Sequence

from alembic import op

revision: str = "3c9a1f0d2b47"
down_revision: str | Sequence[str] | None = "e1dbfd949ef1"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

FUNCTIONS = r"""
create or replace function app.txt(v text) returns text language sql immutable as
$$ select nullif(btrim(v), '') $$;
create or replace function app.as_num(v text) returns numeric language plpgsql immutable as $$
declare
  s text := regexp_replace(v, '^\s*(USD|EUR|GBP|US\$|\$|€|£)|\s', '', 'gi');
  m integer := case when s ~ '\d[kK]$' then 1000 else 1 end;
begin
  s := regexp_replace(s, '[kK]$', '');
  if s ~ '^-?\d{1,3}(\.\d{3})+(,\d+)?$' or s ~ '^-?\d+,\d{1,2}$' then
    s := replace(replace(s, '.', ''), ',', '.');
  else
    s := replace(s, ',', '');
  end if;
  return case when s ~ '^-?\d{1,30}(\.\d{1,10})?$' then s::numeric * m end;
end $$;
create or replace function app.as_money(v text) returns numeric language plpgsql immutable
as $$ declare x numeric := app.as_num(v);
begin return case when x >= 0 and x < 1e13 then round(x, 2) end; end $$;
create or replace function app.as_int(v text) returns integer language plpgsql immutable
as $$ declare x numeric := app.as_num(v);
begin return case when x between -2147483648 and 2147483647 then round(x)::integer end; end $$;
create or replace function app.iso_date(iso text) returns date language sql stable as
$$ select case when pg_input_is_valid(iso, 'date') then iso::date end $$;
create or replace function app.as_date(v text) returns date language sql stable as $$
  select case
    when v ~ '^\s*\d{4}-\d{1,2}-\d{1,2}'
      then app.iso_date(substring(v from '\d{4}-\d{1,2}-\d{1,2}'))
    when v ~ '^\s*\d{1,2}/\d{1,2}/\d{4}\s*$'
      then app.iso_date(regexp_replace(v, '^\s*(\d+)/(\d+)/(\d+)\s*$', '\3-\1-\2'))
    when v ~ '^\s*\d{1,2}\.\d{1,2}\.\d{4}\s*$'
      then app.iso_date(regexp_replace(v, '^\s*(\d+)\.(\d+)\.(\d+)\s*$', '\3-\2-\1')) end $$;
create or replace function app.as_ts(v text) returns timestamptz language sql stable as $$
  select case
    when v ~ '^\s*\d{4}-\d{1,2}-\d{1,2}[T ]\d' and pg_input_is_valid(v, 'timestamptz')
      then v::timestamptz
    when v ~ '^\s*\d{12,13}\s*$' then to_timestamp(btrim(v)::bigint / 1000.0)
    when v ~ '^\s*\d{9,10}\s*$' then to_timestamp(btrim(v)::bigint)
    else app.as_date(v)::timestamptz end $$;
create or replace function app.as_bool(v text) returns boolean language sql immutable as $$
  select case when lower(btrim(v)) in ('true', 't', '1', 'yes', 'y') then true
              when lower(btrim(v)) in ('false', 'f', '0', 'no', 'n') then false end $$;
"""

SIGNATURES = ("as_bool(text)", "as_ts(text)", "as_date(text)", "iso_date(text)", "as_int(text)",
              "as_money(text)", "as_num(text)", "txt(text)")


def upgrade() -> None:
    op.execute(FUNCTIONS)


def downgrade() -> None:
    for signature in SIGNATURES:
        op.execute(f"drop function if exists app.{signature}")
