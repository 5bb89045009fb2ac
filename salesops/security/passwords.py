"""Password hashing with argon2id (argon2-cffi).

The cost parameters come from `SecuritySettings`; hashes made with older parameters still
verify, and `needs_rehash` says when to upgrade one after a successful login.
"""

from __future__ import annotations

import secrets
from functools import lru_cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from salesops.security import SecuritySettings, get_security_settings


@lru_cache(maxsize=8)
def _hasher(time_cost: int, memory_cost: int, parallelism: int) -> PasswordHasher:
    return PasswordHasher(time_cost=time_cost, memory_cost=memory_cost, parallelism=parallelism)


def hasher(settings: SecuritySettings | None = None) -> PasswordHasher:
    s = settings or get_security_settings()
    return _hasher(s.argon2_time_cost, s.argon2_memory_cost, s.argon2_parallelism)


def hash_password(password: str, settings: SecuritySettings | None = None) -> str:
    return hasher(settings).hash(password)


def verify_password(password_hash: str, password: str,
                    settings: SecuritySettings | None = None) -> bool:
    """True when the password matches; False for a mismatch or a hash that is not argon2."""
    try:
        return hasher(settings).verify(password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str, settings: SecuritySettings | None = None) -> bool:
    try:
        return hasher(settings).check_needs_rehash(password_hash)
    except InvalidHashError:
        return True


@lru_cache(maxsize=8)
def _dummy_hash(time_cost: int, memory_cost: int, parallelism: int) -> str:
    return _hasher(time_cost, memory_cost, parallelism).hash(secrets.token_urlsafe(16))


def verify_dummy(password: str, settings: SecuritySettings | None = None) -> bool:
    """Spend the time of a real verification and fail.

    Used when there is no user (or no hash) to check against, so an unknown email costs
    the same as a wrong password and timing does not tell which accounts exist.
    """
    s = settings or get_security_settings()
    verify_password(_dummy_hash(s.argon2_time_cost, s.argon2_memory_cost, s.argon2_parallelism),
                    password, s)
    return False
