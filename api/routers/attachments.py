"""Files attached to contacts and accounts: upload as the raw request body, list, download
(streamed, after the permission check) and remove."""

from __future__ import annotations

from typing import Annotated

import anyio
from fastapi import APIRouter, Path, Query, Request, status
from fastapi.responses import FileResponse
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from api.deps import ActorDep, SessionDep
from api.schemas import error_responses
from api.schemas.notes import AttachmentPublic
from api.schemas.records import BIGINT_MAX
from salesops.domain import attachments, notes
from salesops.domain.attachments import Incoming, Policy
from salesops.domain.audit import Actor
from salesops.domain.errors import PayloadTooLarge

router = APIRouter(tags=["attachments"])
ERRORS = error_responses(401, 403, 404, 422, 429)
UPLOAD_ERRORS = error_responses(401, 403, 404, 413, 415, 422, 429)
RecordId = Annotated[int, Path(ge=1, le=BIGINT_MAX)]
UPLOAD_BODY = {"requestBody": {"required": True, "description": "The file's bytes; send its "
                               "own Content-Type, or application/octet-stream to have it "
                               "read from the file name.",
                               "content": {"application/octet-stream": {
                                   "schema": {"type": "string", "format": "binary"}}}}}


def policy(request: Request) -> Policy:
    settings = request.app.state.settings
    return Policy(settings.attachments_path, settings.attachment_max_bytes,
                  frozenset(t.lower() for t in settings.attachment_types))


def _store(session: Session, actor: Actor, parent: str, record_id: int, filename: str,
           kind: str, incoming: Incoming) -> dict:
    """The attachment row, committed here rather than when the route returns, so that a
    file whose row did not commit is removed with the rest of a failed upload."""
    made = attachments.add(session, actor, parent, record_id, filename, kind, incoming)
    session.commit()
    return made


def _routes(parent: str) -> None:
    entity = notes.PARENTS[parent].entity

    @router.get(f"/{parent}/{{record_id}}/attachments", response_model=list[AttachmentPublic],
                responses=ERRORS, summary=f"Files attached to a {entity}",
                operation_id=f"list_{entity}_attachments")
    def list_files(record_id: RecordId, session: SessionDep, actor: ActorDep):
        return attachments.list_attachments(session, actor, parent, record_id)

    @router.post(f"/{parent}/{{record_id}}/attachments", response_model=AttachmentPublic,
                 status_code=status.HTTP_201_CREATED, responses=UPLOAD_ERRORS,
                 openapi_extra=UPLOAD_BODY, summary=f"Attach a file to a {entity}",
                 operation_id=f"upload_{entity}_attachment")
    async def upload(record_id: RecordId, request: Request, session: SessionDep,
                     actor: ActorDep,
                     filename: Annotated[str, Query(min_length=1, max_length=255,
                                                    description="The file's name.")]):
        """The body is the file. Limits (size, media types) are the server's settings
        `attachment_max_bytes` and `attachment_types`: 413 and 415 beyond them."""
        rules = policy(request)
        kind = attachments.media_type(request.headers.get("content-type"), filename, rules)
        declared = request.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > rules.max_bytes:
            raise PayloadTooLarge(f"The file is larger than {rules.max_bytes} bytes.",
                                  details={"max_bytes": rules.max_bytes})
        await run_in_threadpool(attachments.check_upload, session, actor, parent, record_id)
        incoming = Incoming(rules)
        try:
            async for chunk in request.stream():
                await run_in_threadpool(incoming.write, chunk)  # disk off the event loop
            return await run_in_threadpool(_store, session, actor, parent, record_id,
                                           filename, kind, incoming)
        except BaseException:
            with anyio.CancelScope(shield=True):  # a client gone still leaves no file
                await run_in_threadpool(incoming.discard)
            raise


for _parent in notes.PARENTS:
    _routes(_parent)


@router.get("/attachments/{attachment_id}", response_class=FileResponse,
            responses={200: {"description": "The file, as an attachment download.",
                             "content": {"*/*": {
                                 "schema": {"type": "string", "format": "binary"}}}},
                       **ERRORS},
            summary="Download a file")
def download(attachment_id: RecordId, request: Request, session: SessionDep, actor: ActorDep):
    """Streamed, for whoever may read the record the file is attached to."""
    row, path = attachments.open_download(session, actor, attachment_id,
                                          policy(request).root)
    return FileResponse(path, media_type=row["content_type"], filename=row["filename"],
                        headers={"X-Content-Type-Options": "nosniff",
                                 "Content-Security-Policy": "sandbox"})


@router.delete("/attachments/{attachment_id}", status_code=status.HTTP_204_NO_CONTENT,
               responses=ERRORS, summary="Remove a file")
def delete(attachment_id: RecordId, session: SessionDep, actor: ActorDep) -> None:
    """Its uploader (while they may change the record) or whoever may delete the record."""
    attachments.delete_attachment(session, actor, attachment_id)
