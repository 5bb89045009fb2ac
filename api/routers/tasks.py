"""Tasks: CRUD, assignment, due dates, priorities, completion, soft delete and restore."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Depends, Path, Response, status

from api.deps import ActorDep, SessionDep, VersionDep, pick_version
from api.listing import ListQuery, list_query
from api.schemas import error_responses
from api.schemas.records import BIGINT_MAX, Page, VersionOnly
from api.schemas.tasks import TaskCreate, TaskPublic, TaskUpdate
from salesops.domain import records, tasks

router = APIRouter(prefix="/tasks", tags=["tasks"])
TaskId = Annotated[int, Path(ge=1, le=BIGINT_MAX)]
Listing = Annotated[ListQuery, Depends(list_query(tasks.TASKS))]
ERRORS = error_responses(401, 403, 404, 409, 422, 429)


def _out(session, actor, task_id: int, response: Response) -> dict:
    record = records.get(session, actor, tasks.TASKS, task_id)
    response.headers["ETag"] = f'"{record["version"]}"'
    return record


@router.get("", response_model=Page[TaskPublic], responses=ERRORS, summary="List tasks")
def list_tasks(session: SessionDep, actor: ActorDep, query: Listing):
    """E.g. your open tasks, soonest first: `?assignee_id=me&status=open&sort=due_at`.
    Tasks without a due date come last."""
    return records.list_records(session, actor, tasks.TASKS, **query.kwargs())


@router.post("", response_model=TaskPublic, status_code=status.HTTP_201_CREATED,
             responses=ERRORS, summary="Create a task")
def create_task(body: TaskCreate, session: SessionDep, actor: ActorDep, response: Response):
    """Assigned to you unless `assignee_id` says otherwise (a rep assigns only to
    themselves, a manager within their teams)."""
    task = tasks.create_task(session, actor, body.model_dump(exclude_unset=True))
    return _out(session, actor, task.id, response)


@router.get("/{task_id}", response_model=TaskPublic, responses=ERRORS, summary="One task")
def get_task(task_id: TaskId, session: SessionDep, actor: ActorDep, response: Response):
    return _out(session, actor, task_id, response)


@router.patch("/{task_id}", response_model=TaskPublic, responses=ERRORS,
              summary="Change, reassign, reschedule or cancel a task")
def update_task(task_id: TaskId, body: TaskUpdate, session: SessionDep, actor: ActorDep,
                if_match: VersionDep, response: Response):
    tasks.update_task(session, actor, task_id, body.changes(),
                      pick_version(if_match, body.version))
    return _out(session, actor, task_id, response)


@router.post("/{task_id}/complete", response_model=TaskPublic, responses=ERRORS,
             summary="Complete a task")
def complete_task(task_id: TaskId, session: SessionDep, actor: ActorDep,
                  if_match: VersionDep, response: Response,
                  body: Annotated[VersionOnly | None, Body()] = None):
    """Completing a completed task changes nothing; a task about a new lead moves the lead
    to `working`."""
    tasks.complete(session, actor, task_id, pick_version(if_match, body and body.version))
    return _out(session, actor, task_id, response)


@router.delete("/{task_id}", status_code=status.HTTP_204_NO_CONTENT, responses=ERRORS,
               summary="Move a task to the trash")
def delete_task(task_id: TaskId, session: SessionDep, actor: ActorDep,
                if_match: VersionDep) -> None:
    records.soft_delete(session, actor, tasks.TASKS, task_id, if_match)


@router.post("/{task_id}/restore", response_model=TaskPublic, responses=ERRORS,
             summary="Bring a task back from the trash")
def restore_task(task_id: TaskId, session: SessionDep, actor: ActorDep, response: Response):
    records.restore(session, actor, tasks.TASKS, task_id)
    return _out(session, actor, task_id, response)
