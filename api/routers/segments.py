"""Audience segments: saved filters over contacts, and how many contacts each selects."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Response, status

from api.deps import ActorDep, SessionDep, VersionDep, pick_version
from api.listing import ListQuery, list_query
from api.schemas import error_responses
from api.schemas.campaigns import SegmentCreate, SegmentPublic, SegmentSize, SegmentUpdate
from api.schemas.records import BIGINT_MAX, Page
from salesops.domain import campaigns, records

router = APIRouter(prefix="/segments", tags=["campaigns"])
SegmentId = Annotated[int, Path(ge=1, le=BIGINT_MAX)]
Listing = Annotated[ListQuery, Depends(list_query(campaigns.SEGMENTS))]
ERRORS = error_responses(401, 403, 404, 409, 422, 429)


def _out(session, actor, segment_id: int, response: Response) -> dict:
    record = records.get(session, actor, campaigns.SEGMENTS, segment_id)
    response.headers["ETag"] = f'"{record["version"]}"'
    return record


@router.get("", response_model=Page[SegmentPublic], responses=ERRORS, summary="Segments")
def list_segments(session: SessionDep, actor: ActorDep, query: Listing):
    return records.list_records(session, actor, campaigns.SEGMENTS, **query.kwargs())


@router.post("", response_model=SegmentPublic, status_code=status.HTTP_201_CREATED,
             responses=ERRORS, summary="Save a segment")
def create_segment(body: SegmentCreate, session: SessionDep, actor: ActorDep,
                    response: Response):
    """Fields: first_name, last_name, email, title, lifecycle_stage, owner_id, source,
    created_at, account_id and account.name / industry / segment / country / employees /
    is_customer. An unknown field or operator is a 422."""
    made = campaigns.create_segment(session, actor, body.model_dump(exclude_unset=True))
    return _out(session, actor, made.id, response)


@router.get("/{segment_id}", response_model=SegmentPublic, responses=ERRORS,
            summary="One segment")
def get_segment(segment_id: SegmentId, session: SessionDep, actor: ActorDep,
                response: Response):
    return _out(session, actor, segment_id, response)


@router.get("/{segment_id}/size", response_model=SegmentSize, responses=ERRORS,
            summary="How many contacts the segment selects now")
def segment_size(segment_id: SegmentId, session: SessionDep, actor: ActorDep):
    return {"count": campaigns.segment_size(session, actor, segment_id)}


@router.patch("/{segment_id}", response_model=SegmentPublic, responses=ERRORS,
              summary="Change a segment")
def update_segment(segment_id: SegmentId, body: SegmentUpdate, session: SessionDep,
                   actor: ActorDep, if_match: VersionDep, response: Response):
    """Campaigns keep the copy they took; change theirs with PATCH /campaigns/{id}."""
    campaigns.update_segment(session, actor, segment_id, body.changes(),
                             pick_version(if_match, body.version))
    return _out(session, actor, segment_id, response)


@router.delete("/{segment_id}", status_code=status.HTTP_204_NO_CONTENT, responses=ERRORS,
               summary="Move a segment to the trash")
def delete_segment(segment_id: SegmentId, session: SessionDep, actor: ActorDep,
                   if_match: VersionDep) -> None:
    records.soft_delete(session, actor, campaigns.SEGMENTS, segment_id, if_match)


@router.post("/{segment_id}/restore", response_model=SegmentPublic, responses=ERRORS,
             summary="Bring a segment back from the trash")
def restore_segment(segment_id: SegmentId, session: SessionDep, actor: ActorDep,
                    response: Response):
    records.restore(session, actor, campaigns.SEGMENTS, segment_id)
    return _out(session, actor, segment_id, response)
