"""What every record's schemas share: ids, pages, the version for optimistic locking, and
the list of fields hidden from the caller's role."""

from __future__ import annotations

from typing import Annotated, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

T = TypeVar("T")

BIGINT_MAX = 2**63 - 1
Id = Annotated[int, Field(ge=1, le=BIGINT_MAX)]
Text = Annotated[str, StringConstraints(max_length=300)]
LongText = Annotated[str, StringConstraints(max_length=10000)]


class Page(BaseModel, Generic[T]):
    items: list[T]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; null "
                                    "on the last page.")


class RecordPublic(BaseModel):
    model_config = ConfigDict(extra="ignore")

    id: int
    version: int = Field(description="Send it back (If-Match header or `version`) when "
                         "changing the record.")
    hidden_fields: list[str] = Field(default_factory=list, description="Fields your role may "
                                     "not see: they are null here.")


class Write(BaseModel):
    """A request body: unknown fields are an error, not silently dropped."""

    model_config = ConfigDict(extra="forbid")


class Update(Write):
    version: int | None = Field(None, ge=1, description="The version you read (or send "
                                "If-Match); a stale one is a 409.")

    def changes(self) -> dict:
        return self.model_dump(exclude_unset=True, exclude={"version"})


class VersionOnly(Write):
    version: int | None = Field(None, ge=1)


class Reason(Write):
    reason: Annotated[str, StringConstraints(min_length=1, max_length=1000)]
    version: int | None = Field(None, ge=1)


class DuplicateWarning(BaseModel):
    contact_id: int | None = None
    account_id: int | None = None
    name: str
    similarity: float
