"""The query parameters of a list endpoint, built from the resource's description, so the
OpenAPI schema names every filter and sort field the domain accepts."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from fastapi import Query

from salesops.domain.records import DEFAULT_LIMIT, MAX_LIMIT, Resource


@dataclass(frozen=True)
class ListQuery:
    filters: dict[str, str | None]
    limit: int
    cursor: str | None
    sort: str | None
    q: str | None
    deleted: bool

    def kwargs(self) -> dict[str, Any]:
        return {"filters": self.filters, "limit": self.limit, "cursor": self.cursor,
                "sort": self.sort, "q": self.q, "deleted": self.deleted}


def list_query(res: Resource) -> Callable[..., ListQuery]:
    """A dependency reading `limit`, `cursor`, `sort`, `deleted`, `q` (when the resource
    is searchable) and one parameter per filter."""
    sorts = ", ".join(res.sorts)
    params = [
        inspect.Parameter("limit", inspect.Parameter.KEYWORD_ONLY, annotation=int,
                          default=Query(DEFAULT_LIMIT, ge=1, le=MAX_LIMIT,
                                        description=f"Page size, at most {MAX_LIMIT}.")),
        inspect.Parameter("cursor", inspect.Parameter.KEYWORD_ONLY, annotation=str | None,
                          default=Query(None, max_length=1000,
                                        description="`next_cursor` of the previous page.")),
        inspect.Parameter("sort", inspect.Parameter.KEYWORD_ONLY, annotation=str | None,
                          default=Query(None, max_length=50, pattern=r"^-?[a-z_]+$",
                                        description=f"One of {sorts}"
                                        + (", relevance (with q)" if res.search else "")
                                        + f"; `-` for descending. Default {res.default_sort}"
                                        + (" (-relevance with q)." if res.search else "."))),
        inspect.Parameter("deleted", inspect.Parameter.KEYWORD_ONLY, annotation=bool,
                          default=Query(False, description="List the trash (soft-deleted "
                                        "records, to restore) instead.")),
    ]
    if res.search:
        params.append(inspect.Parameter(
            "q", inspect.Parameter.KEYWORD_ONLY, annotation=str | None,
            default=Query(None, max_length=200, description="Search, typo tolerant.")))
    for name, spec in res.filters.items():
        kind = {"gte": "at or after", "lt": "before"}.get(spec.op)
        doc = (f"{kind} this value" if kind else "comma-separated values, any of which "
               "matches") + ("; `me` is you." if spec.user else ".")
        params.append(inspect.Parameter(
            name, inspect.Parameter.KEYWORD_ONLY, annotation=str | None,
            default=Query(None, max_length=2000, description=doc)))

    def dependency(**values: Any) -> ListQuery:
        return ListQuery(filters={n: values[n] for n in res.filters}, limit=values["limit"],
                         cursor=values["cursor"], sort=values["sort"], q=values.get("q"),
                         deleted=values["deleted"])

    dependency.__signature__ = inspect.Signature(params, return_annotation=ListQuery)
    return dependency
