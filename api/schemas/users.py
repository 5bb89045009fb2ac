"""Users as the API shows them."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class UserPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True, json_schema_extra={"examples": [{
        "id": 42, "email": "ada@example.com", "full_name": "Ada Lovelace",
        "role": "sales_manager", "team_id": 3}]})

    id: int
    email: str
    full_name: str
    role: str
    team_id: int | None = None
