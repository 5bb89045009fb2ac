"""Accounts: CRUD, typo-tolerant search by name and domain, duplicate warnings, trash."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Response, status

from api.deps import ActorDep, SessionDep, VersionDep, pick_version
from api.listing import ListQuery, list_query
from api.schemas import error_responses
from api.schemas.contacts import AccountCreate, AccountCreated, AccountPublic, AccountUpdate
from api.schemas.records import BIGINT_MAX, Page
from salesops.domain import contacts, records

router = APIRouter(prefix="/accounts", tags=["accounts"])
AccountId = Annotated[int, Path(ge=1, le=BIGINT_MAX)]
Listing = Annotated[ListQuery, Depends(list_query(contacts.ACCOUNTS))]
ERRORS = error_responses(401, 403, 404, 409, 422, 429)


def _out(session, actor, account_id: int, response: Response) -> dict:
    record = records.get(session, actor, contacts.ACCOUNTS, account_id)
    response.headers["ETag"] = f'"{record["version"]}"'
    return record


@router.get("", response_model=Page[AccountPublic], responses=ERRORS,
            summary="List or search accounts")
def list_accounts(session: SessionDep, actor: ActorDep, query: Listing):
    """The accounts you may see, a page at a time. `q` searches names (typo tolerant) and
    domain prefixes, most relevant first."""
    return records.list_records(session, actor, contacts.ACCOUNTS, **query.kwargs())


@router.post("", response_model=AccountCreated, status_code=status.HTTP_201_CREATED,
             responses=ERRORS, summary="Create an account")
def create_account(body: AccountCreate, session: SessionDep, actor: ActorDep,
                   response: Response):
    """An account owned by you unless `owner_id` says otherwise. Accounts with similar
    names come back as `duplicates`, a warning."""
    account, duplicates = contacts.create_account(
        session, actor, body.model_dump(exclude_unset=True))
    return {**_out(session, actor, account.id, response), "duplicates": duplicates}


@router.get("/{account_id}", response_model=AccountPublic, responses=ERRORS,
            summary="One account")
def get_account(account_id: AccountId, session: SessionDep, actor: ActorDep,
                response: Response):
    return _out(session, actor, account_id, response)


@router.patch("/{account_id}", response_model=AccountPublic, responses=ERRORS,
              summary="Change an account")
def update_account(account_id: AccountId, body: AccountUpdate, session: SessionDep,
                   actor: ActorDep, if_match: VersionDep, response: Response):
    """Send the version you read (If-Match or `version`): if someone changed the account
    since, the answer is 409 `stale_version` and nothing is written."""
    records.update(session, actor, contacts.ACCOUNTS, account_id, body.changes(),
                   pick_version(if_match, body.version))
    return _out(session, actor, account_id, response)


@router.delete("/{account_id}", status_code=status.HTTP_204_NO_CONTENT, responses=ERRORS,
               summary="Move an account to the trash")
def delete_account(account_id: AccountId, session: SessionDep, actor: ActorDep,
                   if_match: VersionDep) -> None:
    records.soft_delete(session, actor, contacts.ACCOUNTS, account_id, if_match)


@router.post("/{account_id}/restore", response_model=AccountPublic, responses=ERRORS,
             summary="Bring an account back from the trash")
def restore_account(account_id: AccountId, session: SessionDep, actor: ActorDep,
                    response: Response):
    records.restore(session, actor, contacts.ACCOUNTS, account_id)
    return _out(session, actor, account_id, response)
