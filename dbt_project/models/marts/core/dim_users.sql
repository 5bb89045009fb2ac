-- One row per user: role, team, the team's parent, manager and territory. Reps, managers,
-- marketers and integration users alike; is_sales_rep picks the ones that own deals.
with

users as (

    select * from {{ ref('stg_app__users') }}

),

roles as (

    select * from {{ ref('stg_app__roles') }}

),

teams as (

    select * from {{ ref('stg_app__teams') }}

),

owned as (

    select owner_id as user_id, count(*) as deals_owned
    from {{ ref('stg_app__deals') }}
    where not is_deleted
    group by owner_id

)

select
    users.user_id,
    users.full_name,
    users.email,
    users.title,
    roles.role_name,
    users.team_id,
    teams.team_name,
    teams.territory,
    teams.parent_team_id,
    parent_teams.team_name as parent_team_name,
    coalesce(users.manager_id, teams.team_manager_id) as manager_id,
    managers.full_name as manager_name,
    teams.team_manager_id,
    users.is_active and not users.is_deleted as is_active,
    (roles.role_name in ('sales_rep', 'sales_manager') or coalesce(owned.deals_owned, 0) > 0)
        as is_sales_rep,
    coalesce(owned.deals_owned, 0)::integer as deals_owned,
    users.created_at
from users
left join roles on roles.role_id = users.role_id
left join teams on teams.team_id = users.team_id
left join teams as parent_teams on parent_teams.team_id = teams.parent_team_id
left join users as managers
    on managers.user_id = coalesce(users.manager_id, teams.team_manager_id)
left join owned on owned.user_id = users.user_id
