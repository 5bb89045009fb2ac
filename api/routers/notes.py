"""Notes on contacts and accounts: `/contacts/{id}/notes`, `/accounts/{id}/notes`, and
`DELETE /notes/{id}`."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, status

from api.deps import ActorDep, SessionDep
from api.schemas import error_responses
from api.schemas.notes import NoteCreate, NotePublic, NotesPage
from api.schemas.records import BIGINT_MAX
from salesops.domain import notes

router = APIRouter(tags=["notes"])
ERRORS = error_responses(401, 403, 404, 422, 429)
RecordId = Annotated[int, Path(ge=1, le=BIGINT_MAX)]


def _routes(parent: str) -> None:
    entity = notes.PARENTS[parent].entity

    @router.get(f"/{parent}/{{record_id}}/notes", response_model=NotesPage, responses=ERRORS,
                summary=f"Notes of a {entity}", operation_id=f"list_{entity}_notes")
    def list_notes(record_id: RecordId, session: SessionDep, actor: ActorDep,
                   cursor: Annotated[int | None, Query(ge=1, le=BIGINT_MAX)] = None,
                   limit: Annotated[int, Query(ge=1, le=200)] = notes.PAGE):
        """Newest first. Private notes of others show `body: null` unless your role may
        read them."""
        items, next_cursor = notes.list_notes(session, actor, parent, record_id,
                                              cursor=cursor, limit=limit)
        return {"items": items, "next_cursor": next_cursor}

    @router.post(f"/{parent}/{{record_id}}/notes", response_model=NotePublic,
                 status_code=status.HTTP_201_CREATED, responses=ERRORS,
                 summary=f"Add a note to a {entity}", operation_id=f"create_{entity}_note")
    def create_note(record_id: RecordId, body: NoteCreate, session: SessionDep,
                    actor: ActorDep):
        """Whoever may change the record may add notes to it."""
        return notes.create_note(session, actor, parent, record_id, body.body,
                                 body.is_private)


for _parent in notes.PARENTS:
    _routes(_parent)


@router.delete("/notes/{note_id}", status_code=status.HTTP_204_NO_CONTENT, responses=ERRORS,
               summary="Remove a note")
def delete_note(note_id: RecordId, session: SessionDep, actor: ActorDep) -> None:
    """Its author (while they may change the record) or whoever may delete the record."""
    notes.delete_note(session, actor, note_id)
