"""The API tests' personas: a user for each role (and a second and an outside rep for
record-level rules), with their request headers."""

from __future__ import annotations

from sqlalchemy.orm import Session

from salesops.domain.users import create_user

PASSWORD = "correct horse battery"
CLIENT_IP = "203.0.113.10"

#: The personas: one per role, and a second and an outside rep for record-level rules.
#: Teams: Sales (the manager's) > Sales East (rep, rep2); Sales West (rep_west), apart.
PERSONAS = {
    "admin": ("admin", None), "manager": ("sales_manager", "Sales"),
    "rep": ("sales_rep", "Sales East"), "rep2": ("sales_rep", "Sales East"),
    "rep_west": ("sales_rep", "Sales West"), "marketing": ("marketing_manager", None),
    "analyst": ("analyst", None), "integration": ("integration", None),
}


def make_personas(app, engine, security) -> dict[str, dict]:
    """Each persona's user id and request headers (a bearer token; an API key for the
    integration user), made in an emptied database."""
    from salesops.domain import api_keys
    from salesops.domain.audit import Actor
    from salesops.domain.users import get_principal
    from salesops.models import Team

    out = {}
    with Session(engine) as session, session.begin():
        sales = Team(name="Sales")
        session.add(sales)
        session.flush()
        teams = {"Sales": sales, "Sales East": Team(name="Sales East", parent_id=sales.id),
                 "Sales West": Team(name="Sales West")}
        session.add_all(teams.values())
        session.flush()
        for name, (role, team) in PERSONAS.items():
            user = create_user(session, f"{name}@example.com", name.title(), PASSWORD, role,
                               team_id=teams[team].id if team else None, security=security)
            out[name] = {"id": user.id, "role": role}
        sales.manager_id = out["manager"]["id"]
        admin = Actor(get_principal(session, out["admin"]["id"]))
        _, key = api_keys.create_key(session, admin, out["integration"]["id"], "sync")
    for name, persona in out.items():
        persona["headers"] = (
            {"X-API-Key": key} if name == "integration" else
            {"Authorization": f"Bearer {app.state.tokens.issue(persona['id']).access_token}"})
    return out
