"""Logging in and out, and refreshing tokens."""

from __future__ import annotations

from pydantic import BaseModel, Field


class LoginRequest(BaseModel):
    email: str = Field(min_length=1, max_length=320)
    password: str = Field(min_length=1, max_length=1024)

    model_config = {"json_schema_extra": {"examples": [
        {"email": "ada@example.com", "password": "correct horse battery staple"}]}}


class RefreshRequest(BaseModel):
    refresh_token: str = Field(min_length=1, max_length=512)

    model_config = {"json_schema_extra": {"examples": [
        {"refresh_token": "q3V0cE9nVXJpQ2VzQm9mZ1h6d3l0c3lQb0Z6c0xqRQ"}]}}


class LogoutRequest(RefreshRequest):
    pass


class TokenPair(BaseModel):
    access_token: str = Field(description="A JWT: send it as `Authorization: Bearer <token>`.")
    refresh_token: str = Field(description="Opaque, single use: trade it at /auth/refresh "
                               "for a new pair. Using it twice ends the session.")
    token_type: str = "bearer"
    expires_in: int = Field(description="Seconds until the access token expires.")

    model_config = {"json_schema_extra": {"examples": [{
        "access_token": "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiI0MiJ9.sig",
        "refresh_token": "q3V0cE9nVXJpQ2VzQm9mZ1h6d3l0c3lQb0Z6c0xqRQ",
        "token_type": "bearer", "expires_in": 900}]}}
