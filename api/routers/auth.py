"""Login, token refresh, logout and the current user."""

from __future__ import annotations

from fastapi import APIRouter, status

from api.deps import BearerDep, ClientDep, CurrentUser, SecurityDep, SessionDep, TokensDep
from api.schemas import (
    LoginRequest,
    LogoutRequest,
    RefreshRequest,
    TokenPair,
    UserPublic,
    error_responses,
)
from salesops.domain import auth
from salesops.domain.errors import AuthenticationFailed
from salesops.domain.users import get_principal

router = APIRouter(prefix="/auth", tags=["auth"])


def _pair(pair) -> TokenPair:
    return TokenPair(access_token=pair.access_token, refresh_token=pair.refresh_token,
                     token_type=pair.token_type, expires_in=pair.expires_in)


@router.post("/login", response_model=TokenPair, responses=error_responses(401, 422, 429),
             summary="Log in with email and password")
def login(body: LoginRequest, session: SessionDep, tokens: TokensDep, client: ClientDep,
          security: SecurityDep) -> TokenPair:
    """Returns a short-lived access token and a single-use refresh token.

    Wrong password and unknown email give the same 401. Repeated failures lock the email
    and the IP out for a growing delay (429 with Retry-After)."""
    principal = auth.authenticate(session, body.email, body.password, client.ip,
                                  client.user_agent, security=security)
    return _pair(tokens.issue(principal.id))


@router.post("/refresh", response_model=TokenPair, responses=error_responses(401, 422),
             summary="Trade a refresh token for a new token pair")
def refresh(body: RefreshRequest, session: SessionDep, tokens: TokensDep) -> TokenPair:
    """The refresh token is spent: keep the new one. Presenting a spent token again ends
    the whole session, for whoever holds it."""
    pair = tokens.rotate(body.refresh_token)
    try:
        get_principal(session, pair.user_id)  # deactivated since the login?
    except AuthenticationFailed:
        tokens.revoke_session(pair.session_id, pair.user_id)
        raise
    return _pair(pair)


@router.post("/logout", status_code=status.HTTP_204_NO_CONTENT,
             responses=error_responses(422), summary="End the session")
def logout(body: LogoutRequest, tokens: TokensDep, credentials: BearerDep) -> None:
    """Ends the session of the refresh token (and of the bearer token, if one is sent):
    its refresh and access tokens stop working at once. Always 204, even for unknown
    tokens."""
    tokens.revoke(body.refresh_token)
    if credentials is not None:
        try:
            claims = tokens.decode_access_token(credentials.credentials, check_session=False)
        except AuthenticationFailed:
            return
        tokens.revoke_session(claims.session_id, claims.user_id)


@router.get("/me", response_model=UserPublic, responses=error_responses(401),
            summary="The user the access token belongs to")
def me(user: CurrentUser) -> UserPublic:
    return UserPublic.model_validate(user)
