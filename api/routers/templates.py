"""Communication templates: personalisation variables in sandboxed Jinja, checked on save."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Response, status

from api.deps import ActorDep, SessionDep, VersionDep, pick_version
from api.listing import ListQuery, list_query
from api.schemas import error_responses
from api.schemas.campaigns import TemplateCreate, TemplatePublic, TemplateUpdate
from api.schemas.records import BIGINT_MAX, Page
from salesops.domain import campaigns, records

router = APIRouter(prefix="/templates", tags=["campaigns"])
TemplateId = Annotated[int, Path(ge=1, le=BIGINT_MAX)]
Listing = Annotated[ListQuery, Depends(list_query(campaigns.TEMPLATES))]
ERRORS = error_responses(401, 403, 404, 409, 422, 429)


def _out(session, actor, template_id: int, response: Response) -> dict:
    record = records.get(session, actor, campaigns.TEMPLATES, template_id)
    response.headers["ETag"] = f'"{record["version"]}"'
    return record


@router.get("", response_model=Page[TemplatePublic], responses=ERRORS, summary="Templates")
def list_templates(session: SessionDep, actor: ActorDep, query: Listing):
    return records.list_records(session, actor, campaigns.TEMPLATES, **query.kwargs())


@router.post("", response_model=TemplatePublic, status_code=status.HTTP_201_CREATED,
             responses=ERRORS, summary="Create a template")
def create_template(body: TemplateCreate, session: SessionDep, actor: ActorDep,
                    response: Response):
    """Variables: first_name, last_name, full_name, email, title, company, campaign,
    unsubscribe_url. A template that does not parse or render is a 422
    (`invalid_template`)."""
    made = campaigns.create_template(session, actor, body.model_dump(exclude_unset=True))
    return _out(session, actor, made.id, response)


@router.get("/{template_id}", response_model=TemplatePublic, responses=ERRORS,
            summary="One template")
def get_template(template_id: TemplateId, session: SessionDep, actor: ActorDep,
                 response: Response):
    return _out(session, actor, template_id, response)


@router.patch("/{template_id}", response_model=TemplatePublic, responses=ERRORS,
              summary="Change a template")
def update_template(template_id: TemplateId, body: TemplateUpdate, session: SessionDep,
                    actor: ActorDep, if_match: VersionDep, response: Response):
    campaigns.update_template(session, actor, template_id, body.changes(),
                              pick_version(if_match, body.version))
    return _out(session, actor, template_id, response)


@router.delete("/{template_id}", status_code=status.HTTP_204_NO_CONTENT, responses=ERRORS,
               summary="Move a template to the trash")
def delete_template(template_id: TemplateId, session: SessionDep, actor: ActorDep,
                    if_match: VersionDep) -> None:
    records.soft_delete(session, actor, campaigns.TEMPLATES, template_id, if_match)


@router.post("/{template_id}/restore", response_model=TemplatePublic, responses=ERRORS,
             summary="Bring a template back from the trash")
def restore_template(template_id: TemplateId, session: SessionDep, actor: ActorDep,
                     response: Response):
    records.restore(session, actor, campaigns.TEMPLATES, template_id)
    return _out(session, actor, template_id, response)
