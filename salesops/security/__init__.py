"""Security primitives: password hashing (argon2), access and refresh tokens, and the knobs
that tune them and the login lockout.

`SecuritySettings` reads `SALESOPS_*` variables like the main settings do; tests build one
with cheap argon2 parameters instead of patching anything.
"""

from __future__ import annotations

from functools import lru_cache

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class SecuritySettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="SALESOPS_", env_file=".env", extra="ignore")

    # argon2id (defaults: argon2-cffi's, RFC 9106 low-memory profile)
    argon2_time_cost: int = Field(3, ge=1)
    argon2_memory_cost: int = Field(65536, ge=8, description="KiB")
    argon2_parallelism: int = Field(4, ge=1)

    refresh_token_days: int = Field(30, ge=1, description="Lifetime of a refresh token and "
                                    "of an idle session (sliding: each refresh renews it).")
    redis_prefix: str = Field("salesops", description="Prefix of every Redis key we write.")

    # login lockout: failed attempts in the window, per email and per IP
    login_window_seconds: int = Field(900, ge=1)
    login_max_failures_per_user: int = Field(5, ge=1)
    login_max_failures_per_ip: int = Field(20, ge=1)
    login_lockout_base_seconds: int = Field(30, ge=1, description="Delay at the threshold; "
                                            "doubles with every further failure.")
    login_lockout_max_seconds: int = Field(900, ge=1)

    # authenticated API calls: fixed window per user and per API key
    user_rate_limit: int = Field(600, ge=1, description="Requests per user per window.")
    api_key_rate_limit: int = Field(1200, ge=1, description="Requests per API key per window.")
    api_rate_window_seconds: int = Field(60, ge=1)

    # calls made on a user's behalf (webhooks, enrichment): see salesops.security.ssrf
    ssrf_allow_private: bool = Field(False, description="Let outgoing calls reach private, "
                                     "loopback and link-local addresses.")
    ssrf_allowed_hosts: list[str] = Field(default_factory=list, description="Host names "
                                          "outgoing calls may reach whatever they resolve to.")

    # public web forms: fixed window per client IP
    form_rate_limit: int = Field(30, ge=1, description="Submissions per IP per window.")
    form_rate_window_seconds: int = Field(60, ge=1)


@lru_cache
def get_security_settings() -> SecuritySettings:
    return SecuritySettings()
