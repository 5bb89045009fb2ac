"""Merge the latest raw records into `app`: set-based SQL, idempotent, nothing lost.

Each entity is one transaction that reads the newest version of every source record
(`raw` is append-only), upserts it (an update only where a value differs, so a re-run
changes nothing), quarantines a record whose required field is unusable in
`ops.rejected_rows` (stage `merge`, once per raw batch) and logs an `ops.merge_runs` row.

People from every source become one contact per normalised email (`app.normalize_email`,
the first matching rule); a record without a usable email joins a contact by phone (E.164)
or by a similar name at the same company when that evidence is unambiguous
(`salesops.identity`). `app.contact_sources` keeps the lineage and the rule that matched,
and a record that was linked once stays with its contact. Dirty values never crash the
merge: the `app.as_*` helpers return null for what they cannot read (PostgreSQL 16+ for
`pg_input_is_valid`).

Accounts have no source columns yet, so their lineage lives in
`custom_fields` ("source", "source_key").
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass

import psycopg
import sqlalchemy as sa

from salesops import identity
from salesops.domain import assignment
from salesops.errors import SalesopsError
from salesops.models.auth import ROLES
from salesops.models.crm import remember_names
from salesops.models.raw import record_sql
from salesops.security.sealed import PHONE_CONTEXT, seal_staged, seal_values
from salesops.settings import get_settings


class MergeError(SalesopsError):
    """The merge would have broken the database's integrity; nothing of it was kept."""


@dataclass(frozen=True)
class MergeCounts:
    rows_in: int
    created: int
    updated: int
    rejected: int


DEFAULT_PIPELINE = "Default"
#: name, probability, forecast category, closed, won
STAGES = (("Prospecting", 10, "pipeline", False, False),
          ("Qualification", 20, "pipeline", False, False),
          ("Needs Analysis", 40, "pipeline", False, False),
          ("Proposal", 60, "best_case", False, False),
          ("Negotiation", 80, "commit", False, False),
          ("Closed Won", 100, "closed", True, True),
          ("Closed Lost", 0, "omitted", True, False))
#: Salesforce's other default stage names, mapped onto ours.
_STAGE_ALIASES = """(values ('id. decision makers', 'qualification'),
  ('value proposition', 'needs analysis'), ('perception analysis', 'needs analysis'),
  ('proposal/price quote', 'proposal'), ('negotiation/review', 'negotiation'))"""
_LIFECYCLE = "array['other','subscriber','lead','mql','sql','opportunity','customer']"


def _latest(source: str, entity: str) -> str:
    """The newest version of each source record. `offset 0` keeps the planner from pulling
    the subquery up into its reader, which would build the record once per `r->>` there
    (twice as slow a merge at a million records), not once per row."""
    return (f"(select w.id as raw_id, w.source_key, {record_sql(source, 'w')} as r, w.loaded_at"
            f" from (select distinct on (source_key) * from raw.{source}__{entity}"
            f" order by source_key, id desc) w offset 0)")


#: Salesforce account id -> app account, to join on (accounts keep lineage in custom_fields).
_ACCOUNTS = ("(select custom_fields->>'source_key' as account_key, min(id) as account_id,"
             " min(name) as account_name,"
             " bool_or(is_customer) as is_customer from app.accounts"
             " where custom_fields->>'source' = 'salesforce' group by 1)")


def _user_of(expr: str) -> str:
    return f"(select u.id from app.users u where u.source_key = {expr})"


#: The record's non-empty custom fields (`*__c`), kept in `custom_fields`. Walking every
#: key costs ~10 µs a record; a record whose text has no `__c"` has no such key.
_CUSTOM = ("(case when r::text like '%\\_\\_c\"%' then (select coalesce(jsonb_object_agg(k, v),"
           " '{}') from jsonb_each(r) e(k, v) where k like '%\\_\\_c'"
           " and v not in ('\"\"', 'null')) else '{}' end)")
#: created_at and updated_at of a Salesforce record; the load time when its dates are unusable.
_TIMESTAMPS = ("coalesce(app.as_ts(r->>'CreatedDate'), loaded_at) as created_at, "
               "coalesce(app.as_ts(r->>'LastModifiedDate'), app.as_ts(r->>'CreatedDate'),"
               " loaded_at) as updated_at")
_DELETED = ("case when app.as_bool(r->>'IsDeleted') then coalesce("
            "app.as_ts(r->>'LastModifiedDate'), loaded_at) end as deleted_at")


class _Step:
    """One entity's merge inside its transaction: SQL runs on the raw psycopg cursor."""

    def __init__(self, cur: psycopg.Cursor, mailbox_owners: Sequence[str] = (),
                 conn: sa.Connection | None = None) -> None:
        self.cur = cur
        self.conn = conn  # the same transaction, for the domain's SQLAlchemy statements
        self.mailbox_owners = mailbox_owners
        self.rows_in = self.created = self.updated = self.rejected = 0

    def run(self, sql: str) -> list[tuple]:
        self.cur.execute(sql)  # no parameters: the SQL is ours, and % stays literal
        return self.cur.fetchall() if self.cur.description else []

    def stage(self, sql: str, name: str = "_src") -> None:
        """Materialise a step's source rows (with a `problem` column) and count them."""
        self.run(f"drop table if exists {name}; create temp table {name} on commit drop as {sql};"
                 f" analyze {name}")  # temp tables have no statistics until analysed
        if name == "_src":
            self.rows_in = self.run("select count(*) from _src")[0][0]

    def reject(self, source: str, entity: str, src: str = "_src") -> None:
        """Quarantine source rows with a problem, once per raw batch and reason."""
        self.run(f"""
            insert into ops.rejected_rows (batch_id, source, entity, stage, source_key, reason,
                                           record)
            select w.batch_id, w.source, '{entity}', 'merge', w.source_key, s.problem,
                   {record_sql(source, 'w')}
            from {src} s join raw.{source}__{entity} w on w.id = s.raw_id
            where s.problem is not null and not exists (
                select 1 from ops.rejected_rows x where x.stage = 'merge'
                and x.batch_id = w.batch_id and x.source_key = w.source_key
                and x.reason = s.problem)""")
        self.rejected += self.run(f"select count(*) from {src} where problem is not null")[0][0]

    def upsert(self, table: str, src: str, match: str, columns: tuple[str, ...],
               insert_only: tuple[str, ...] = (), stamped: bool = True,
               versioned: bool = True, order_by: str | None = None) -> None:
        """Update rows whose values differ, insert the missing ones; count both.

        `stamped` tables get `updated_at` from the source row; `versioned` ones bump
        `version` so an API writer holding a stale copy gets a conflict. New rows go in
        `order_by` (an index's order makes a bulk insert walk that index sequentially).
        """
        extra_t = (", updated_at" if stamped else "") + (", version" if versioned else "")
        extra_s = (", s.updated_at" if stamped else "") + (", t.version + 1" if versioned else "")
        cols = ", ".join(columns)
        s_cols = ", ".join(f"s.{c}" for c in columns)
        t_cols = ", ".join(f"t.{c}" for c in columns)
        ins_cols = ", ".join((*columns, *insert_only)) + (", updated_at" if stamped else "")
        ins_vals = ", ".join(f"s.{c}" for c in (*columns, *insert_only)) + (
            ", s.updated_at" if stamped else "")
        # The rows to insert are found before any is inserted: the anti-join of a statement
        # that also inserts re-reads the growing table per row when the planner, trusting an
        # empty table's statistics, picks a nested loop (quadratic on a first bulk merge).
        self.run(f"drop table if exists _missing; create temp table _missing on commit drop as"
                 f" select {ins_vals} from {src} s where not exists"
                 f" (select 1 from {table} t where {match})")
        self.run(f"""
            update {table} t set ({cols}{extra_t}) = row({s_cols}{extra_s})
            from {src} s where {match} and row({t_cols}) is distinct from row({s_cols})""")
        updated = self.cur.rowcount
        self.run(f"insert into {table} ({ins_cols}) select {ins_cols} from _missing"
                 + (f" order by {order_by}" if order_by else ""))
        created = self.cur.rowcount
        if created or updated:  # later steps join this table: give the planner its new size
            self.run(f"analyze {table}")
        self.created += created
        self.updated += updated

    def counts(self) -> MergeCounts:
        return MergeCounts(self.rows_in, self.created, self.updated, self.rejected)


def _roles(step: _Step) -> None:
    values = ", ".join(f"('{name}')" for name in ROLES)
    step.rows_in = len(ROLES)
    step.created = len(step.run(f"insert into app.roles (name) values {values} "
                                f"on conflict (name) do nothing returning 1"))


def _teams(step: _Step) -> None:
    step.stage(f"""
        select app.txt(r->>'Team__c') as name,
               min(app.txt(r->>'Territory__c')) as territory, max(loaded_at) as updated_at
        from {_latest('salesforce', 'user')} u
        where app.txt(r->>'Team__c') is not null group by 1""")
    step.upsert("app.teams", "_src", "t.name = s.name", ("territory",), ("name",),
                versioned=False)


def _users(step: _Step) -> None:
    users = _latest("salesforce", "user")
    step.stage(f"""
        select u.raw_id, u.source_key, email, full_name, title, is_active, team_id, manager_id,
               ro.id as role_id, created_at, updated_at,
               case when app.normalize_email(email) is null then 'invalid or missing Email'
                    when count(*) over (partition by lower(email)) > 1
                      then 'Email shared with another Salesforce user'
                    when exists (select 1 from app.users x where lower(x.email) = lower(u.email)
                                 and x.source_key <> u.source_key)
                      then 'Email belongs to another user' end as problem
        from (select raw_id, source_key, app.txt(r->>'Email') as email,
                     coalesce(app.txt(concat_ws(' ', app.txt(r->>'FirstName'),
                              app.txt(r->>'LastName'))), app.txt(r->>'Username'),
                              source_key) as full_name,
                     app.txt(r->>'Title') as title,
                     coalesce(app.as_bool(r->>'IsActive'), true) as is_active,
                     (select t.id from app.teams t where t.name = app.txt(r->>'Team__c'))
                       as team_id,
                     {_user_of("r->>'ManagerId'")} as manager_id,
                     case when exists (select 1 from {users} m where m.r->>'ManagerId' = source_key)
                            or r->>'Title' ~* '(manager|director|head of|vp|vice president|chief)'
                          then 'sales_manager' else 'sales_rep' end as role,
                     coalesce(app.as_ts(r->>'CreatedDate'), loaded_at) as created_at,
                     loaded_at as updated_at
              from {users} l) u
        join app.roles ro on ro.name = u.role""")
    step.reject("salesforce", "user")
    # Users created by hand (no source key yet) are claimed by email, not duplicated.
    step.run("""update app.users t set source = 'salesforce', source_key = s.source_key,
                version = t.version + 1 from _src s where s.problem is null and t.source_key is null
                and lower(t.email) = lower(s.email)""")
    step.upsert("app.users", "(select *, 'salesforce' as source from _src where problem is null)",
                "t.source_key = s.source_key",
                ("email", "full_name", "title", "is_active", "team_id", "manager_id", "role_id"),
                ("source", "source_key", "created_at"))
    # Managers created in this same run: link them now.
    step.run(f"""update app.users t set manager_id = m.id, version = t.version + 1
                 from {users} u join app.users m on m.source_key = u.r->>'ManagerId'
                 where t.source_key = u.source_key and t.manager_id is distinct from m.id""")
    step.run("""update app.teams t set manager_id = m.id from (
                    select distinct on (u.team_id) u.team_id, u.id from app.users u
                    join app.roles ro on ro.id = u.role_id and ro.name = 'sales_manager'
                    where u.team_id is not null order by u.team_id, u.id) m
                where t.id = m.team_id and t.manager_id is distinct from m.id""")


def _accounts(step: _Step) -> None:
    won = ("(select distinct r->>'AccountId' as account_key from "
           f"{_latest('salesforce', 'opportunity')} o where app.as_bool(r->>'IsWon'))")
    step.stage(f"""
        select a.raw_id, a.source_key, app.txt(r->>'Name') as name,
               nullif(lower(substring(app.txt(r->>'Website')
                      from '^(?:[a-z]+://)?(?:www\\.)?([^/:?#\\s]+\\.[^/:?#\\s]+)')), '') as domain,
               app.txt(r->>'Industry') as industry, app.txt(r->>'Segment__c') as segment,
               case when app.as_int(r->>'NumberOfEmployees') >= 0
                    then app.as_int(r->>'NumberOfEmployees') end as employees,
               app.as_money(r->>'AnnualRevenue') as annual_revenue,
               app.txt(r->>'BillingCountry') as country, app.txt(r->>'BillingCity') as city,
               {_user_of("r->>'OwnerId'")} as owner_id,
               (coalesce(r->>'Type', '') ~* 'customer' or w.account_key is not null) as is_customer,
               {_CUSTOM} || jsonb_build_object('source', 'salesforce',
                                                       'source_key', a.source_key) as custom_fields,
               {_TIMESTAMPS}, {_DELETED},
               case when app.txt(r->>'Name') is null then 'missing Name' end as problem
        from {_latest('salesforce', 'account')} a left join {won} w on w.account_key = a.source_key
    """)
    step.reject("salesforce", "account")
    step.upsert("app.accounts", "(select * from _src where problem is null)",
                "t.custom_fields->>'source' = 'salesforce' "
                "and t.custom_fields->>'source_key' = s.source_key",
                ("name", "domain", "industry", "segment", "employees", "annual_revenue", "country",
                 "city", "owner_id", "is_customer", "custom_fields", "deleted_at"),
                ("created_at",))


def _campaigns(step: _Step) -> None:
    step.stage(f"""
        select raw_id, 'salesforce' as source, source_key, app.txt(r->>'Name') as name,
               app.txt(r->>'Channel__c') as channel, app.txt(r->>'Type') as campaign_type,
               case lower(btrim(r->>'Status')) when 'planned' then 'scheduled'
                    when 'in progress' then 'running' when 'active' then 'running'
                    when 'completed' then 'completed' when 'aborted' then 'cancelled'
                    else 'draft' end as status,
               start_date,
               case when end_date >= start_date or start_date is null then end_date end as end_date,
               app.as_money(r->>'BudgetedCost') as budget,
               app.as_money(r->>'ActualCost') as actual_cost,
               coalesce(start_date::timestamptz, loaded_at) as created_at, loaded_at as updated_at,
               case when app.txt(r->>'Name') is null then 'missing Name' end as problem
        from (select *, app.as_date(r->>'StartDate') as start_date,
                     app.as_date(r->>'EndDate') as end_date
              from {_latest('salesforce', 'campaign')} c) c""")
    step.reject("salesforce", "campaign")
    step.upsert("app.marketing_campaigns", "(select * from _src where problem is null)",
                "t.source = s.source and t.source_key = s.source_key",
                ("name", "channel", "campaign_type", "status", "start_date", "end_date", "budget",
                 "actual_cost"), ("source", "source_key", "created_at"))


def _contacts(step: _Step) -> None:
    """Every person record -> one candidate; candidates -> contacts by lineage, then email."""
    opps = ("(select r->>'Contact__c' as contact_key, bool_or(app.as_bool(r->>'IsWon')) as won"
            f" from {_latest('salesforce', 'opportunity')} o group by 1)")
    lead_stage = """case when app.as_bool(r->>'IsConverted') then 'sql'
                         when r->>'Status' ~* 'qualified' and r->>'Status' !~* 'unqualified'
                           then 'sql' else 'lead' end"""
    hubspot_stage = """case lower(p->>'lifecyclestage') when 'subscriber' then 'subscriber'
        when 'lead' then 'lead' when 'marketingqualifiedlead' then 'mql'
        when 'salesqualifiedlead' then 'sql' when 'opportunity' then 'opportunity'
        when 'customer' then 'customer' when 'evangelist' then 'customer' else 'other' end"""
    # HubSpot keeps the ids merged into a contact on the survivor: those are the survivor.
    step.stage(f"""
        select distinct on (btrim(x)) btrim(x) as merged_key, h.source_key as survivor_key
        from {_latest('hubspot', 'contacts')} h,
             regexp_split_to_table(r->'properties'->>'hs_merged_object_ids', ';') x
        where btrim(x) <> '' and btrim(x) <> h.source_key
        order by btrim(x), h.loaded_at desc""", name="_hs_merged")
    step.stage(f"""
        select row_number() over () as n, c.*, e.email_norm,
               case when source = 'webforms.submission' and e.email_norm is null
                    then coalesce('invalid email ' || quote_literal(btrim(email)), 'no email')
                         || ' and no other key' end as problem
        from (
          select 'salesforce.contact' as source, raw_id, k.source_key, 1 as priority,
                 r->>'Email' as email, app.txt(r->>'FirstName') as first_name,
                 app.txt(r->>'LastName') as last_name, app.txt(r->>'Phone') as phone,
                 app.txt(r->>'Title') as title, acc.account_id,
                 {_user_of("r->>'OwnerId'")} as owner_id,
                 coalesce(app.as_bool(r->>'HasOptedOutOfEmail'), false) as opt_out,
                 null::boolean as consent, null::text as consent_text,
                 null::timestamptz as consent_at,
                 case when o.won or acc.is_customer then 'customer'
                      when o.contact_key is not null then 'opportunity' else 'lead' end as stage,
                 {_CUSTOM} as custom, {_TIMESTAMPS}, acc.account_name as company
          from {_latest('salesforce', 'contact')} k
          left join {opps} o on o.contact_key = k.source_key
          left join {_ACCOUNTS} acc on acc.account_key = r->>'AccountId'
          union all
          select 'salesforce.lead', raw_id, source_key, 2, r->>'Email',
                 app.txt(r->>'FirstName'), app.txt(r->>'LastName'),
                 app.txt(r->>'Phone'), app.txt(r->>'Title'), null,
                 {_user_of("r->>'OwnerId'")}, false, null, null, null, {lead_stage}, '{{}}',
                 {_TIMESTAMPS}, app.txt(r->>'Company')
          from {_latest('salesforce', 'lead')} l
          union all
          select 'hubspot.contact', raw_id, source_key, 3, p->>'email',
                 app.txt(p->>'firstname'), app.txt(p->>'lastname'),
                 app.txt(p->>'phone'), app.txt(p->>'jobtitle'), null, null,
                 coalesce(app.as_bool(p->>'hs_email_optout'), false), null, null, null,
                 {hubspot_stage}, '{{}}',
                 coalesce(app.as_ts(r->>'createdAt'), loaded_at),
                 coalesce(app.as_ts(r->>'updatedAt'), app.as_ts(r->>'createdAt'), loaded_at),
                 app.txt(p->>'company')
          from (select *, r->'properties' as p from {_latest('hubspot', 'contacts')} h) h
          where not exists (select 1 from _hs_merged m where m.merged_key = h.source_key)
          union all
          select 'webforms.submission', raw_id, source_key, 4, f->>'email',
                 app.txt(f->>'first_name'), app.txt(f->>'last_name'),
                 app.txt(f->>'phone'), app.txt(f->>'job_title'), null, null, false,
                 app.as_bool(r->'consent'->>'marketing'),
                 app.txt(r->'consent'->>'text'), app.as_ts(r->'consent'->>'given_at'),
                 'lead', '{{}}', coalesce(app.as_ts(r->>'submitted_at'), loaded_at),
                 coalesce(app.as_ts(r->>'submitted_at'), loaded_at), app.txt(f->>'company')
          from (select *, r->'fields' as f from {_latest('webforms', 'submissions')} w) w
        ) c cross join lateral (select app.normalize_email(c.email) as email_norm) e""",
               name="_cand")
    # Sealing the phones is Python's work (~70 µs each): a thread does it while the
    # database works out the contacts.
    phones = [p for (p,) in step.run("select distinct phone from _cand where phone is not null")]
    sealer = ThreadPoolExecutor(1, thread_name_prefix="seal-phones")
    try:
        sealing = sealer.submit(seal_values, phones, PHONE_CONTEXT)
        _resolve_contacts(step, sealing)
    finally:
        sealer.shutdown(wait=False, cancel_futures=True)


def _resolve_contacts(step: _Step, sealing: Future[dict[str, tuple[str, str | None]]]) -> None:
    """The candidates (`_cand`) -> contacts, golden records and lineage."""
    step.rows_in = step.run("select count(*) from _cand")[0][0]
    step.reject("webforms", "submissions", "(select * from _cand where source like 'webforms%')")
    # Which contact each candidate becomes (and by which rule) is worked out in a narrow
    # table, written whole rather than updated row by row: the contact its record was
    # linked to, else the live contact holding its e-mail (`_known`); else the one another
    # record of that e-mail found, else a new one per e-mail, numbered in e-mail order.
    step.stage("""
        select c.n, c.source, c.source_key, c.email_norm,
               coalesce(l.contact_id, k.id) as contact_id,
               coalesce(l.rule, case when k.id is not null then 'email' end) as rule
        from _cand c
        left join (select s.source, s.source_key, s.match_rule as rule,
                          coalesce(k.merged_into_id, k.id) as contact_id
                   from app.contact_sources s join app.contacts k on k.id = s.contact_id) l
          on l.source = c.source and l.source_key = c.source_key
        left join app.contacts k on l.contact_id is null and k.email_normalized = c.email_norm
          and k.deleted_at is null and k.merged_into_id is null
        where c.problem is null""", name="_known")
    step.stage(f"""
        select email_norm, coalesce(id, nextval({_literal(_sequence(step))}::regclass)) as id
        from (select email_norm, min(contact_id) as id from _known
              where email_norm is not null group by 1 having bool_or(contact_id is null)
              order by 1) g""", name="_by_email")
    step.stage("""
        select k.n, k.source, k.source_key, k.email_norm,
               coalesce(k.contact_id, e.id) as contact_id, null::bigint as grp,
               coalesce(k.rule, case when e.id is not null then 'email' end) as rule
        from _known k left join _by_email e on k.contact_id is null
          and e.email_norm = k.email_norm""", name="_ids")
    step.run("create temp view _cv as select c.*, i.contact_id, i.grp, i.rule"
             " from _cand c join _ids i using (n)")
    _link_orphans(step)
    _new_contacts(step, "grp", "source_key")
    # The golden record: per field, the best source (Salesforce first), then the newest. A
    # contact of one record (most are) is that record, without the aggregates' sorts.
    best = "order by priority, updated_at desc, source_key"
    step.stage("select contact_id from _ids group by 1 having count(*) > 1", name="_multi")
    step.stage(f"""
        select contact_id as id, first_name, last_name,
          case when email_norm is not null then btrim(email) end as email,
          email_norm as email_normalized, phone, title, account_id, owner_id,
          stage as lifecycle_stage, source, consent as marketing_consent,
          case when consent then consent_text end as consent_text,
          case when consent then consent_at end as consent_at, opt_out as email_opt_out,
          case when custom <> '{{}}' then custom end as custom, created_at, updated_at
        from _cv c where not exists (select 1 from _multi m where m.contact_id = c.contact_id)
        union all
        select contact_id as id,
          (array_agg(first_name {best}) filter (where first_name is not null))[1] as first_name,
          (array_agg(last_name {best}) filter (where last_name is not null))[1] as last_name,
          (array_agg(btrim(email) {best}) filter (where email_norm is not null))[1] as email,
          (array_agg(email_norm {best}) filter (where email_norm is not null))[1]
            as email_normalized,
          (array_agg(phone {best}) filter (where phone is not null))[1] as phone,
          (array_agg(title {best}) filter (where title is not null))[1] as title,
          (array_agg(account_id {best}) filter (where account_id is not null))[1] as account_id,
          (array_agg(owner_id {best}) filter (where owner_id is not null))[1] as owner_id,
          (array_agg(stage order by array_position({_LIFECYCLE}, stage) desc))[1]
            as lifecycle_stage,
          (array_agg(source order by created_at, priority))[1] as source,
          (array_agg(consent order by updated_at desc) filter (where consent is not null))[1]
            as marketing_consent,
          (array_agg(consent_text order by updated_at desc) filter (where consent))[1]
            as consent_text,
          (array_agg(consent_at order by updated_at desc) filter (where consent))[1]
            as consent_at,
          bool_or(opt_out) as email_opt_out,
          (array_agg(custom {best}) filter (where custom <> '{{}}'))[1] as custom,
          min(created_at) as created_at, max(updated_at) as updated_at
        from _cv where contact_id in (select contact_id from _multi)
        group by contact_id""", name="_gold")
    # A contact keeps the email it has; a new one never takes an address another holds.
    step.run("""
        update _gold g set email = k.email, email_normalized = k.email_normalized
          from app.contacts k where k.id = g.id and k.email is not null;
        update _gold g set email = null, email_normalized = null
          where email_normalized is not null and exists (
            select 1 from app.contacts k where k.email_normalized = g.email_normalized
            and k.id <> g.id and k.deleted_at is null and k.merged_into_id is null)""")
    # sealed, with its blind index
    seal_staged(step.cur, "_gold", "app.contacts", "phone", prepared=sealing.result())
    rows = step.run("select count(*) from _gold")[0][0]
    with _indexes_rebuilt_if_bulk(step, ("app.contacts", "app.contact_sources"), rows), \
            _references_checked_at_end(step, ("app.contacts", "app.contact_sources")):
        step.upsert("app.contacts",
                    "(select *, coalesce(custom, '{}') as custom_fields from _gold)",
                    "t.id = s.id",
                    ("first_name", "last_name", "email", "email_normalized", "phone",
                     "phone_index", "title", "account_id", "owner_id", "lifecycle_stage",
                     "marketing_consent", "consent_text", "consent_at", "email_opt_out",
                     "custom_fields"), ("id", "source", "created_at"), order_by="id")
        # Merges are serialised and only they write lineage of source records: an anti-join
        # and a plain insert in key order (cheaper than a speculative insert per row).
        step.run("""insert into app.contact_sources (contact_id, source, source_key, match_rule)
                    select contact_id, source, source_key, rule from _ids c where not exists (
                      select 1 from app.contact_sources s
                      where s.source = c.source and s.source_key = c.source_key)
                    order by source, source_key;
                    drop view _cv""")
    step.run(remember_names("_gold"))  # the names search reads (crm.ContactName)
    _follow_hubspot_merges(step)


#: A first bulk load (at least this many rows, BULK_RATIO times what the table holds)
#: builds the table's secondary indexes after its inserts instead of row by row.
BULK_MIN_ROWS = 50_000
BULK_RATIO = 4


@contextmanager
def _indexes_rebuilt_if_bulk(step: _Step, tables: Sequence[str], rows: int) -> Iterator[None]:
    """On a first bulk load of `rows` rows into the first of `tables` (empty or nearly),
    drop the secondary indexes of `tables` (not those of a primary key or a constraint)
    and build them again once the rows are in: sorted builds beat a million inserts into
    each (the trigram GiST most). The unique ones check uniqueness when rebuilt.

    The trade-off: dropping an index locks its table (`access exclusive`) until the
    merge commits, so API reads and writes of these tables wait for it (seconds to a
    couple of minutes on a million records); on a table holding most of its rows already
    the indexes stay and nothing waits.
    """
    held = step.run(f"select count(*) from (select from {tables[0]}"
                    f" limit {rows // BULK_RATIO + 1}) t")[0][0]
    if rows < BULK_MIN_ROWS or held * BULK_RATIO > rows:
        yield
        return
    names = _regclasses(tables)
    indexes = step.run(f"""
        select i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid) from pg_index i
        where i.indrelid = any({names}) and not i.indisprimary
        and not exists (select 1 from pg_constraint c where c.conindid = i.indexrelid)
        order by 1""")
    step.run("; ".join(f"drop index {name}" for name, _ in indexes))
    yield
    step.run("set local maintenance_work_mem = '256MB'; "
             + "; ".join(definition for _, definition in indexes))


@contextmanager
def _references_checked_at_end(step: _Step, tables: Sequence[str]) -> Iterator[None]:
    """Check the foreign keys of the rows this transaction writes to `tables` set-based,
    after the writes, instead of by PostgreSQL's trigger per row (a lookup and a row lock
    each, ~10-50 µs: a minute on a million-record merge).

    Inside, the session runs as `session_replication_role = replica`, which skips triggers
    (the foreign-key checks among them); afterwards every key written by this transaction
    is looked up and its referenced row locked `for key share` in one statement per
    foreign key, as the triggers would have (rows this transaction wrote are locked
    already), so a concurrent delete of a referenced row waits for the merge or makes it
    fail: never a dangling reference. Used only when the
    database lets this role set the parameter (a superuser, or `grant set on parameter
    session_replication_role`) and the tables have no triggers of their own; otherwise the
    per-row checks run as usual.
    """
    names = _regclasses(tables)
    allowed, triggers = step.run(f"""
        select has_parameter_privilege('session_replication_role', 'SET'),
               exists (select 1 from pg_trigger where tgrelid = any({names})
                       and not tgisinternal)""")[0]
    if not allowed or triggers:
        yield
        return
    step.run("set local session_replication_role = replica")
    try:
        yield
    finally:
        step.run("set local session_replication_role = origin")
    foreign_keys = step.run(f"""
        select c.conname, c.conrelid::regclass::text, c.confrelid::regclass::text,
               array(select a.attname from unnest(c.conkey) with ordinality k(n, i)
                     join pg_attribute a on a.attrelid = c.conrelid and a.attnum = k.n
                     order by k.i),
               array(select a.attname from unnest(c.confkey) with ordinality k(n, i)
                     join pg_attribute a on a.attrelid = c.confrelid and a.attnum = k.n
                     order by k.i)
        from pg_constraint c where c.contype = 'f' and c.conrelid = any({names})
        order by 1""")
    ours = "pg_current_xact_id()::xid"  # rows this transaction wrote (or updated: locked)
    for name, table, referenced, columns, keys in foreign_keys:
        cols = ", ".join(f"t.{c}" for c in columns)
        refs = ", ".join(f"r.{k}" for k in keys)
        missing = step.run(f"""
            with written as (
              select distinct {cols} from {table} t where t.xmin = {ours}
              and {" and ".join(f"t.{c} is not null" for c in columns)}),
            held as (
              select {refs} from {referenced} r where ({refs}) in (select * from written)
              and r.xmin <> {ours} for key share of r)
            select count(*) from written t where ({cols}) not in (select * from held)
            and ({cols}) not in (select {refs} from {referenced} r where r.xmin = {ours})""")
        if missing[0][0]:
            raise MergeError(f"The merge wrote {missing[0][0]} {table} rows whose {name} "
                             f"points at no {referenced} row (deleted meanwhile?); run the "
                             "merge again.")


#: The last 7 digits of a phone, extension cut: two spellings of one number end alike, so
#: only phones sharing this with an orphan's are read into E.164.
_PHONE_TAIL = "nullif(right(regexp_replace(phone, '\\s*(x|ext|#).*$|\\D', '', 'gi'), 7), '')"
#: Name evidence is looked for among records of the same company (lower case, punctuation
#: and legal forms dropped: ~5 µs of regular expression, so once per distinct company, in
#: `_companies`) whose last names start alike.
_COMPANY = ("nullif(regexp_replace(lower(company),"
            " '\\m(inc|llc|ltd|limited|gmbh|corp|corporation|co|plc|ag|sa|bv)\\M|[^a-z0-9]+',"
            " '', 'g'), '')")
_NAME_BLOCK = "left(lower(last_name), 1) || ':' || co.company_key"
_FULL_NAME = "lower(concat_ws(' ', first_name, last_name))"
#: pg_trgm similarity of two full names in one block from which they are one person.
NAME_SIMILARITY = 0.6
#: A number held by more records than this is a switchboard or a placeholder, not a person;
#: a name block bigger than this (a company "n/a") is not compared pair by pair.
PHONE_MAX_SHARED = 10
NAME_BLOCK_MAX = 1000


def _sequence(step: _Step) -> str:
    """The sequence of the contacts' ids."""
    return step.run("select pg_get_serial_sequence('app.contacts', 'id')")[0][0]


def _new_contacts(step: _Step, key: str, rule: str) -> None:
    """A new contact id for each distinct `key` of the candidates that have none yet."""
    sequence = _sequence(step)
    step.run(f"""
        drop table if exists _new;
        create temp table _new on commit drop as
          select person, nextval({_literal(sequence)}::regclass) as id
          from (select distinct {key} as person from _ids
                where contact_id is null and {key} is not null order by 1) p;
        update _ids c set contact_id = n.id, rule = coalesce(c.rule, '{rule}')
          from _new n where c.contact_id is null and n.person = c.{key}""")


def _link_orphans(step: _Step) -> None:
    """Records without an e-mail (orphans) join a contact by phone (E.164) or name at the
    same company; `salesops.identity` decides from the evidence found here."""
    step.stage(f"select company, {_COMPANY} as company_key from"
               " (select distinct company from _cand where company is not null) c",
               name="_companies")
    step.stage(f"""
        select n, phone, {_PHONE_TAIL} as tail, {_NAME_BLOCK} as block, {_FULL_NAME} as name
        from _cv left join _companies co using (company)
        where contact_id is null and email_norm is null""", name="_orphan")
    step.stage(f"""
        select * from (select n, contact_id, phone, {_PHONE_TAIL} as tail,
                              {_NAME_BLOCK} as block, {_FULL_NAME} as name
                       from _cv left join _companies co using (company)) c
        where tail in (select tail from _orphan) or block in (select block from _orphan)""",
               name="_near")
    phones = [p for (p,) in step.run("select distinct phone from _near where tail in"
                                     " (select tail from _orphan)")]
    step.run("create temp table _e164 (phone text primary key, e164 text not null)"
             " on commit drop")
    with step.cur.copy("copy _e164 from stdin") as copy:
        for row in identity.e164(phones, get_settings().phone_region).items():
            copy.write_row(row)
    step.run("analyze _e164")
    evidence = step.run(f"""
        select o.n, c.n, c.contact_id, 'phone' from _orphan o
        join _e164 po on po.phone = o.phone
        join _near c on c.tail = o.tail and c.n <> o.n
        join _e164 pc on pc.phone = c.phone and pc.e164 = po.e164
        where po.e164 in (select e.e164 from _near x join _e164 e on e.phone = x.phone
                          group by 1 having count(*) <= {PHONE_MAX_SHARED})
        union all
        select o.n, c.n, c.contact_id, 'name_company' from _orphan o
        join _near c on c.block = o.block and c.n <> o.n
        where similarity(c.name, o.name) >= {NAME_SIMILARITY}
          and (o.tail is null or c.tail is null or o.tail = c.tail)
          and o.block in (select block from _near group by 1
                          having count(*) <= {NAME_BLOCK_MAX})""")
    links = identity.link_orphans(identity.Evidence(*row) for row in evidence)
    step.run("create temp table _links (n bigint primary key, contact_id bigint, grp bigint,"
             " rule text) on commit drop")
    with step.cur.copy("copy _links from stdin") as copy:
        for link in links:
            copy.write_row((link.record, link.contact, link.group, link.rule))
    step.run("""
        update _ids c set contact_id = l.contact_id, grp = l.grp, rule = l.rule
          from _links l where c.n = l.n;
        update _ids set grp = n where contact_id is null and grp is null""")


#: Tables whose rows follow a contact into the one it was merged into.
CONTACT_CHILDREN = ("notes", "attachments", "leads", "tasks", "sales_pipeline", "interactions")


def _follow_hubspot_merges(step: _Step) -> None:
    """A contact made earlier from a record HubSpot later merged away is merged into the
    survivor's contact: its lineage and related records move, so it never stays a
    duplicate."""
    step.stage("""
        select distinct old.contact_id as loser, s.contact_id as survivor, m.merged_key
        from _hs_merged m
        join app.contact_sources s on s.source = 'hubspot.contact'
         and s.source_key = m.survivor_key
        left join app.contact_sources old on old.source = 'hubspot.contact'
         and old.source_key = m.merged_key""", name="_hs_moves")
    step.run("""
        insert into app.contact_sources (contact_id, source, source_key, match_rule)
        select survivor, 'hubspot.contact', merged_key, 'hubspot_merge' from _hs_moves
        where loser is null on conflict (source, source_key) do nothing;
        delete from _hs_moves where loser is null or loser = survivor;
        update app.contact_sources c set contact_id = m.survivor, match_rule = 'hubspot_merge'
          from _hs_moves m where c.contact_id = m.loser;""")
    for table in CONTACT_CHILDREN:
        step.run(f"update app.{table} t set contact_id = m.survivor from _hs_moves m "
                 f"where t.contact_id = m.loser")
    step.updated += len(step.run("""
        update app.contacts k set merged_into_id = m.survivor, version = k.version + 1
        from _hs_moves m where k.id = m.loser and k.merged_into_id is distinct from m.survivor
        returning 1"""))


def _leads(step: _Step) -> None:
    members = ("(select distinct on (r->>'LeadId') r->>'LeadId' as lead_key,"
               " r->>'CampaignId' as campaign_key"
               f" from {_latest('salesforce', 'campaign_member')} m"
               " where app.txt(r->>'LeadId') is not null"
               " order by r->>'LeadId', app.as_ts(r->>'CreatedDate'), source_key)")
    campaigns = ("(select min(id) as id, slug from (select id, btrim(regexp_replace(lower(name),"
                 " '[^a-z0-9]+', '-', 'g'), '-') as slug from app.marketing_campaigns) c"
                 " group by slug)")
    step.stage(f"""
        select l.raw_id, 'salesforce' as source, l.source_key, cs.contact_id, acc.account_id,
               app.txt(r->>'Company') as company, app.txt(r->>'Title') as title,
               app.txt(r->>'Industry') as industry,
               case when app.as_int(r->>'NumberOfEmployees') >= 0
                    then app.as_int(r->>'NumberOfEmployees') end as employees,
               l.status, app.txt(r->>'LeadSource') as lead_source,
               coalesce(mc.id, uc.id) as campaign_id,
               coalesce({_user_of("r->>'OwnerId'")}, (select x.owner_id from app.leads x
                   where x.source = 'salesforce' and x.source_key = l.source_key)) as owner_id,
               jsonb_strip_nulls(jsonb_build_object(
                   'source', app.txt(r->>'UTM_Source__c'),
                   'campaign', app.txt(r->>'UTM_Campaign__c'))) as utm,
               coalesce(app.as_ts(r->>'CreatedDate'), loaded_at) as first_touch_at,
               case when l.status in ('qualified', 'converted') then coalesce(
                   app.as_ts(r->>'ConvertedDate'), app.as_ts(r->>'LastModifiedDate'))
                   end as qualified_at,
               case when l.status = 'disqualified' then coalesce(app.txt(r->>'Status'),
                   'disqualified in Salesforce') end as disqualified_reason,
               case when l.status = 'converted' then coalesce(app.as_ts(r->>'ConvertedDate'),
                   app.as_ts(r->>'LastModifiedDate'), loaded_at) end as converted_at,
               {_CUSTOM} || jsonb_strip_nulls(jsonb_build_object(
                   'Rating', app.txt(r->>'Rating'))) as custom_fields,
               {_TIMESTAMPS}, {_DELETED}, null::text as problem
        from (select *, case
                when app.as_bool(r->>'IsConverted') or (r->>'Status' ~* 'converted'
                     and r->>'Status' !~* 'not converted') then 'converted'
                when r->>'Status' ~* 'not converted|unqualified|disqualified|junk|lost|closed'
                  then 'disqualified'
                when r->>'Status' ~* 'nurtur' then 'nurturing'
                when r->>'Status' ~* 'qualified' then 'qualified'
                when r->>'Status' ~* 'not contacted|^\\s*(open|new)' then 'new'
                when r->>'Status' ~* 'working|contacted|progress|engaged' then 'working'
                else 'new' end as status
              from {_latest('salesforce', 'lead')} l) l
        left join app.contact_sources cs
          on cs.source = 'salesforce.lead' and cs.source_key = l.source_key
        left join {_ACCOUNTS} acc on acc.account_key = r->>'ConvertedAccountId'
        left join {members} m on m.lead_key = l.source_key
        left join app.marketing_campaigns mc
          on mc.source = 'salesforce' and mc.source_key = m.campaign_key
        left join {campaigns} uc on uc.slug = lower(app.txt(r->>'UTM_Campaign__c'))""")
    step.upsert("app.leads", "_src", "t.source = s.source and t.source_key = s.source_key",
                ("contact_id", "account_id", "company", "title", "industry", "employees",
                 "status", "lead_source", "campaign_id", "owner_id", "utm", "first_touch_at",
                 "qualified_at", "disqualified_reason", "converted_at", "custom_fields",
                 "deleted_at"), ("source", "source_key", "created_at"))


def _pipeline(step: _Step) -> None:
    """The default pipeline and its stages; stages an admin changed are left alone."""
    values = ", ".join(f"('{name}', {position}, {probability}, '{category}', {closed}, {won})"
                       for position, (name, probability, category, closed, won)
                       in enumerate(STAGES, start=1))
    step.rows_in = 1 + len(STAGES)
    step.created = len(step.run(f"""
        insert into app.pipelines (name, is_default)
        select '{DEFAULT_PIPELINE}', not exists (select 1 from app.pipelines where is_default)
        on conflict (name) do nothing returning 1"""))
    step.created += len(step.run(f"""
        insert into app.pipeline_stages (pipeline_id, name, position, probability,
                                         forecast_category, is_closed, is_won)
        select p.id, v.* from app.pipelines p, (values {values}) v
        where p.name = '{DEFAULT_PIPELINE}'
        on conflict do nothing returning 1"""))


_STAGE_OF = f"""(select s.id, s.probability, s.forecast_category, s.is_closed, s.is_won,
                        lower(s.name) as label
                 from app.pipeline_stages s join app.pipelines p on p.id = s.pipeline_id
                 where p.name = '{DEFAULT_PIPELINE}')"""
_ALIAS = f"(select * from {_STAGE_ALIASES} a(label, stage))"


def _deals(step: _Step) -> None:
    converted = ("(select r->>'ConvertedOpportunityId' as opp_key, min(source_key) as lead_key"
                 f" from {_latest('salesforce', 'lead')} l"
                 " where app.txt(r->>'ConvertedOpportunityId') is not null group by 1)")
    step.stage(f"""
        select o.raw_id, 'salesforce' as source, o.source_key, app.txt(r->>'Name') as name,
               acc.account_id, cs.contact_id, ld.id as lead_id, st.pipeline_id,
               st.id as stage_id, {_user_of("r->>'OwnerId'")} as owner_id,
               cmp.id as campaign_id, app.as_money(r->>'Amount') as amount,
               coalesce(case when app.as_int(r->>'Probability') between 0 and 100
                        then app.as_int(r->>'Probability') end, st.probability) as probability,
               coalesce(case lower(regexp_replace(r->>'ForecastCategoryName', '\\s', '', 'g'))
                   when 'pipeline' then 'pipeline' when 'bestcase' then 'best_case'
                   when 'commit' then 'commit' when 'forecast' then 'commit'
                   when 'closed' then 'closed' when 'omitted' then 'omitted' end,
                   st.forecast_category) as forecast_category,
               app.as_date(r->>'CloseDate') as expected_close_date,
               case when st.is_closed then coalesce(app.as_date(r->>'CloseDate')::timestamptz,
                   app.as_ts(r->>'LastModifiedDate'), loaded_at) end as closed_at,
               case when st.is_closed then st.is_won end as is_won,
               case when st.is_closed and not st.is_won
                    then app.txt(r->>'Loss_Reason__c') end as loss_reason,
               app.txt(r->>'LeadSource') as lead_source, app.txt(r->>'Type') as deal_type,
               {_CUSTOM} as custom_fields, {_TIMESTAMPS}, {_DELETED},
               case when app.txt(r->>'Name') is null then 'missing Name'
                    when st.id is null then 'unknown StageName '
                         || coalesce(quote_literal(r->>'StageName'), 'null') end as problem
        from {_latest('salesforce', 'opportunity')} o
        left join {_ALIAS} al on al.label = lower(btrim(r->>'StageName'))
        left join (select *, (select id from app.pipelines where name = '{DEFAULT_PIPELINE}')
                   as pipeline_id from {_STAGE_OF} s) st
          on st.label = coalesce(al.stage, lower(btrim(r->>'StageName')))
        left join {_ACCOUNTS} acc on acc.account_key = r->>'AccountId'
        left join app.contact_sources cs
          on cs.source = 'salesforce.contact' and cs.source_key = r->>'Contact__c'
        left join {converted} cl on cl.opp_key = o.source_key
        left join app.leads ld on ld.source = 'salesforce' and ld.source_key = cl.lead_key
        left join app.marketing_campaigns cmp
          on cmp.source = 'salesforce' and cmp.source_key = r->>'CampaignId'""")
    step.reject("salesforce", "opportunity")
    step.upsert("app.sales_pipeline", "(select * from _src where problem is null)",
                "t.source = s.source and t.source_key = s.source_key",
                ("name", "account_id", "contact_id", "lead_id", "pipeline_id", "stage_id",
                 "owner_id", "campaign_id", "amount", "probability", "forecast_category",
                 "expected_close_date", "closed_at", "is_won", "loss_reason", "lead_source",
                 "deal_type", "custom_fields", "deleted_at"),
                ("source", "source_key", "created_at"))
    step.run("""update app.leads t set converted_deal_id = d.id, version = t.version + 1
                from app.sales_pipeline d where d.source = 'salesforce' and d.lead_id = t.id
                and t.converted_deal_id is distinct from d.id""")


def _deal_stage_history(step: _Step) -> None:
    step.stage(f"""
        select h.raw_id, 'salesforce' as source, h.source_key, d.id as deal_id,
               st.id as stage_id, app.txt(r->>'StageName') as stage_label,
               app.as_money(r->>'Amount') as amount,
               case when app.as_int(r->>'Probability') between 0 and 100
                    then app.as_int(r->>'Probability') end as probability,
               app.as_ts(r->>'CreatedDate') as entered_at,
               {_user_of("r->>'CreatedById'")} as changed_by,
               case when d.id is null then 'unknown OpportunityId '
                         || coalesce(quote_literal(r->>'OpportunityId'), 'null')
                    when app.txt(r->>'StageName') is null then 'missing StageName'
                    when app.as_ts(r->>'CreatedDate') is null
                      then 'unusable CreatedDate ' || coalesce(quote_literal(r->>'CreatedDate'),
                                                              'null') end as problem
        from {_latest('salesforce', 'opportunity_history')} h
        left join app.sales_pipeline d
          on d.source = 'salesforce' and d.source_key = r->>'OpportunityId'
        left join {_ALIAS} al on al.label = lower(btrim(r->>'StageName'))
        left join {_STAGE_OF} st on st.label = coalesce(al.stage, lower(btrim(r->>'StageName')))
    """)
    step.reject("salesforce", "opportunity_history")
    step.upsert("app.deal_stage_history",
                "(select *, lead(entered_at) over (partition by deal_id order by entered_at,"
                " source_key) as exited_at from _src where problem is null)",
                "t.source = s.source and t.source_key = s.source_key",
                ("deal_id", "stage_id", "stage_label", "amount", "probability", "entered_at",
                 "exited_at", "changed_by"), ("source", "source_key"),
                stamped=False, versioned=False)


def _tasks(step: _Step) -> None:
    step.stage(f"""
        select t.raw_id, 'salesforce' as source, t.source_key,
               coalesce(app.txt(r->>'Subject'), app.txt(r->>'Type')) as title,
               t.status,
               case lower(btrim(r->>'Priority')) when 'high' then 'high' when 'low' then 'low'
                    when 'urgent' then 'urgent' when 'critical' then 'urgent'
                    else 'normal' end as priority,
               lower(app.txt(r->>'Type')) as task_type,
               app.as_date(r->>'ActivityDate')::timestamptz as due_at,
               case when t.status = 'completed' then coalesce(
                   app.as_date(r->>'ActivityDate')::timestamptz,
                   app.as_ts(r->>'CreatedDate'), loaded_at) end as completed_at,
               {_user_of("r->>'OwnerId'")} as assignee_id,
               cs.contact_id, ld.id as lead_id, d.id as deal_id,
               coalesce(app.as_ts(r->>'CreatedDate'), loaded_at) as created_at,
               coalesce(app.as_ts(r->>'CreatedDate'), loaded_at) as updated_at,
               case when coalesce(app.txt(r->>'Subject'), app.txt(r->>'Type')) is null
                    then 'missing Subject' end as problem
        from (select *, case
                when lower(btrim(r->>'Status')) = 'completed'
                     or app.as_bool(r->>'IsClosed') then 'completed'
                when r->>'Status' ~* 'progress|waiting' then 'in_progress'
                else 'open' end as status
              from {_latest('salesforce', 'task')} t) t
        left join app.contact_sources cs
          on cs.source in ('salesforce.contact', 'salesforce.lead') and cs.source_key = r->>'WhoId'
        left join app.leads ld on ld.source = 'salesforce' and ld.source_key = r->>'WhoId'
        left join app.sales_pipeline d
          on d.source = 'salesforce' and d.source_key = r->>'WhatId'""")
    step.reject("salesforce", "task")
    step.upsert("app.tasks", "(select * from _src where problem is null)",
                "t.source = s.source and t.source_key = s.source_key",
                ("title", "status", "priority", "task_type", "due_at", "completed_at",
                 "assignee_id", "contact_id", "lead_id", "deal_id"),
                ("source", "source_key", "created_at"))


def _campaign_members(step: _Step) -> None:
    """One member per campaign and contact: a lead and its converted contact are one person."""
    pair = "coalesce(c.id || '/' || coalesce(cc.contact_id, cl.contact_id), m.source_key)"
    step.stage(f"""
        select distinct on ({pair})
               m.raw_id, 'salesforce' as source, m.source_key,
               c.id as campaign_id, coalesce(cc.contact_id, cl.contact_id) as contact_id,
               ld.id as lead_id,
               coalesce(lower(app.txt(r->>'Status')), 'sent') as status,
               case when app.as_bool(r->>'HasResponded') then coalesce(
                   app.as_ts(r->>'FirstRespondedDate'), app.as_ts(r->>'CreatedDate'))
                   end as responded_at,
               coalesce(app.as_ts(r->>'CreatedDate'), loaded_at) as created_at,
               loaded_at as updated_at,
               case when c.id is null then 'unknown CampaignId'
                    when coalesce(cc.contact_id, cl.contact_id) is null
                      then 'unknown LeadId and ContactId' end as problem
        from {_latest('salesforce', 'campaign_member')} m
        left join app.marketing_campaigns c
          on c.source = 'salesforce' and c.source_key = r->>'CampaignId'
        left join app.contact_sources cc
          on cc.source = 'salesforce.contact' and cc.source_key = r->>'ContactId'
        left join app.contact_sources cl
          on cl.source = 'salesforce.lead' and cl.source_key = r->>'LeadId'
        left join app.leads ld on ld.source = 'salesforce' and ld.source_key = r->>'LeadId'
        order by {pair},
                 app.as_bool(r->>'HasResponded') desc nulls last, m.source_key""")
    step.reject("salesforce", "campaign_member")
    step.upsert("app.campaign_members",
                "(select * from _src s where problem is null and not exists (select 1 from"
                " app.campaign_members x where x.source = s.source and x.source_key = s.source_key"
                " and (x.campaign_id, x.contact_id) <> (s.campaign_id, s.contact_id)))",
                "t.campaign_id = s.campaign_id and t.contact_id = s.contact_id",
                ("lead_id", "status", "responded_at"), ("campaign_id", "contact_id", "source",
                                                         "source_key", "created_at"),
                versioned=False)


def _interactions(step: _Step) -> None:
    """Emails -> interactions. The other party is matched to a contact by address
    (`app.normalize_email`: case-insensitive, plus-addressing aware); the direction comes
    from the mailbox owners: the users' addresses, plus `mailbox_owners` (addresses, or
    `@domain` for a whole domain). Sent by an owner is outbound (internal when every
    recipient is an owner too), anything else inbound. The user is the first user among
    sender and recipients; the deal is the contact's newest open deal, else its newest."""
    owners = ", ".join("(" + _literal(o.strip().lower()) + ")"
                       for o in step.mailbox_owners if o.strip()) or "(null)"
    step.run(f"""
        create temp table _owners on commit drop as
        select app.normalize_email(email) as address, null::text as domain, id as user_id
          from app.users where app.normalize_email(email) is not null
        union all
        select case when o not like '@%' then app.normalize_email(o) end,
               case when o like '@%' then substr(o, 2) end, null
          from (values {owners}) v(o) where o is not null""")
    step.stage(f"""
        with m as (
          select raw_id, source_key, r, loaded_at,
                 app.normalize_email(r->>'from_address') as sender,
                 array(select app.normalize_email(a) from jsonb_array_elements_text(
                       coalesce(r->'to', '[]') || coalesce(r->'cc', '[]')) with ordinality e(a, n)
                       where app.normalize_email(a) is not null order by n) as recipients
          from {_latest('email', 'messages')} l),
        o as (
          select m.*, exists (select 1 from _owners w where w.address = m.sender
                              or w.domain = split_part(m.sender, '@', 2)) as from_owner,
                 array(select a from unnest(m.recipients) with ordinality u(a, n)
                       where not exists (select 1 from _owners w where w.address = a
                                         or w.domain = split_part(a, '@', 2))
                       order by n) as others
          from m)
        select o.raw_id, 'email' as source, o.source_key, 'email' as kind,
               case when not from_owner then 'inbound'
                    when cardinality(others) = 0 then 'internal' else 'outbound' end as direction,
               k.id as contact_id, k.account_id, d.id as deal_id,
               (select w.user_id from unnest(array[sender] || recipients) with ordinality
                       u(a, n) join _owners w on w.address = u.a and w.user_id is not null
                order by n limit 1) as user_id,
               coalesce(app.as_ts(r->>'date'), loaded_at) as occurred_at,
               app.txt(r->>'subject') as subject,
               coalesce(app.txt(r->>'reply_text'), app.txt(r->>'body_text')) as body,
               app.txt(r->>'thread_id') as thread_id, app.txt(r->>'message_id') as message_id,
               app.txt(r->>'in_reply_to') as in_reply_to,
               coalesce(app.as_ts(r->>'date'), loaded_at) as created_at,
               loaded_at as updated_at,
               case when sender is null and cardinality(recipients) = 0
                    then 'no usable From or To address' end as problem
        from o
        left join lateral (
          select coalesce(c.merged_into_id, c.id) as id
          from unnest(case when from_owner then others else array[sender] end)
               with ordinality u(a, n)
          join app.contacts c on c.email_normalized = u.a and c.deleted_at is null
          order by u.n, c.merged_into_id nulls first, c.id limit 1) kk on true
        left join app.contacts k on k.id = kk.id
        left join lateral (
          select d.id from app.sales_pipeline d where d.contact_id = k.id
          and d.deleted_at is null
          order by (d.closed_at is null) desc, d.created_at desc, d.id desc limit 1) d on true""")
    step.reject("email", "messages")
    step.upsert("app.interactions", "(select * from _src where problem is null)",
                "t.source = s.source and t.source_key = s.source_key",
                ("kind", "direction", "contact_id", "account_id", "deal_id", "user_id",
                 "occurred_at", "subject", "body", "thread_id", "message_id", "in_reply_to"),
                ("source", "source_key", "created_at"), versioned=False)


def _lead_assignment(step: _Step) -> None:
    """Unowned open leads get an owner by the assignment rules (a lead's owner from its
    source wins; one the rules gave is kept when the source has none)."""
    report = assignment.assign(step.conn)
    step.rows_in = report.assigned + report.unassigned
    step.updated = report.assigned


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _regclasses(tables: Sequence[str]) -> str:
    """`tables` as an SQL array of regclass."""
    return "array[" + ", ".join(map(_literal, tables)) + "]::regclass[]"


#: In dependency order: each entity links to the ones merged before it.
STEPS: tuple[tuple[str, Callable[[_Step], None]], ...] = (
    ("roles", _roles), ("teams", _teams), ("users", _users), ("accounts", _accounts),
    ("campaigns", _campaigns), ("contacts", _contacts), ("leads", _leads),
    ("pipeline", _pipeline), ("deals", _deals), ("deal_stage_history", _deal_stage_history),
    ("tasks", _tasks), ("campaign_members", _campaign_members),
    ("interactions", _interactions), ("lead_assignment", _lead_assignment),
)


def merge_all(engine: sa.Engine, mailbox_owners: Sequence[str] = ()) -> dict[str, MergeCounts]:
    """Merge every entity, each in its own transaction; return the counts per entity.

    Merges are serialised by an advisory lock, so two runs never interleave.
    `mailbox_owners` (addresses or `@domain`) add to the users' addresses as the side of
    an email that is us.
    """
    return {name: merge_entity(engine, name, mailbox_owners) for name, _ in STEPS}


def merge_entity(engine: sa.Engine, name: str, mailbox_owners: Sequence[str] = ()) -> MergeCounts:
    run = dict(STEPS)[name]
    with engine.begin() as conn:
        driver: psycopg.Connection = conn.connection.driver_connection  # type: ignore[assignment]
        with driver.cursor() as cur:
            cur.execute("select pg_advisory_xact_lock(hashtext('salesops.merge'))")
            cur.execute("set local timezone = 'UTC'; set local work_mem = '64MB'")
            step = _Step(cur, mailbox_owners, conn)
            run(step)
            counts = step.counts()
            cur.execute("insert into ops.merge_runs (entity, finished_at, rows_in, created,"
                        " updated, rejected) values (%s, clock_timestamp(), %s, %s, %s, %s)",
                        (name, counts.rows_in, counts.created, counts.updated, counts.rejected))
    return counts
