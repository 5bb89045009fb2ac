"""Field encryption at rest: AES-256-GCM in the application (the embedded PostgreSQL has
no pgcrypto, and the database should not hold the keys anyway).

A sealed value reads `v1:<key id>:<base64url(nonce + ciphertext + tag)>`: the key id
travels with every value, so keys can be rotated while old values stay readable. The
column's name is authenticated with the value (GCM associated data), so a value copied
into another column does not decrypt.

Keys come from `SALESOPS_FIELD_KEYS` (JSON `{"active": id, "keys": {id: base64 key}}`,
for replicas sharing keys) or else `field_keys.json` in the data folder (mode 0600),
generated on first use. `salesops keys rotate` adds a new active key to that file (with
the variable: make the new key active there first) and re-encrypts every sealed column.

Values that must be matched (a phone for duplicates) also get a blind index: HMAC-SHA256
of the normalised value, under a key derived (HKDF) from the keyring's first key, so it
survives rotations of the active key and equal values index equally in every process.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import secrets
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import sqlalchemy as sa
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from salesops.errors import ConfigError, SalesopsError
from salesops.settings import Settings, get_settings

VERSION = "v1"
NONCE_BYTES = 12
KEYS_ENV = "SALESOPS_FIELD_KEYS"
KEYS_FILE = "field_keys.json"

#: Every column holding sealed values, as (table, column): what rotation re-encrypts.
SEALED_COLUMNS = (("app.crm_integrations", "credentials_encrypted"),
                  ("app.email_integrations", "credentials_encrypted"),
                  ("app.financial_integrations", "credentials_encrypted"),
                  ("app.contacts", "phone"),
                  ("app.contracts", "value"),
                  ("app.notes", "body"))


class DecryptionError(SalesopsError):
    """A sealed value that this keyring cannot open: unknown key, tampered or misplaced."""


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@lru_cache(maxsize=16)
def _aead(key: bytes) -> AESGCM:
    """One AES-GCM context per key: building it costs as much as sealing a short value."""
    return AESGCM(key)


@dataclass(frozen=True)
class FieldCipher:
    keys: dict[str, bytes]
    active: str
    _index_key: bytes = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.active not in self.keys:
            raise ConfigError(f"The active field key {self.active!r} is not among the keys.")
        if any(len(k) != 32 or ":" in kid for kid, k in self.keys.items()):
            raise ConfigError("Field keys must be 32 bytes (base64) with ids without ':'.")
        first = next(iter(self.keys.values()))
        object.__setattr__(self, "_index_key", HKDF(
            algorithm=hashes.SHA256(), length=32, salt=None,
            info=b"salesops blind index v1").derive(first))

    def blind_index(self, normalized: str, context: str) -> str:
        """HMAC-SHA256 of a normalised value for the column `context`: equal values give
        equal indexes, and the index reveals nothing without the keys."""
        return hmac.new(self._index_key, f"{context}\0{normalized}".encode(),
                        hashlib.sha256).hexdigest()

    def seal(self, plaintext: str, context: str) -> str:
        """Encrypt `plaintext` for the column named `context` (e.g. `app.t.col`)."""
        nonce = secrets.token_bytes(NONCE_BYTES)
        sealed = _aead(self.keys[self.active]).encrypt(nonce, plaintext.encode(),
                                                        context.encode())
        return f"{VERSION}:{self.active}:{_b64(nonce + sealed)}"

    def open(self, value: str, context: str) -> str:
        try:
            version, key_id, payload = value.split(":", 2)
            raw = _unb64(payload)
        except (ValueError, TypeError):
            raise DecryptionError("The value is not a sealed field value.") from None
        if version != VERSION or key_id not in self.keys:
            raise DecryptionError(f"No key {key_id!r} to open this value; restore the key "
                                  "it was sealed with.")
        try:
            return _aead(self.keys[key_id]).decrypt(raw[:NONCE_BYTES], raw[NONCE_BYTES:],
                                                     context.encode()).decode()
        except InvalidTag:
            raise DecryptionError("The value was altered or belongs to another column.") \
                from None

    @staticmethod
    def key_id(value: str) -> str | None:
        parts = value.split(":", 2)
        return parts[1] if len(parts) == 3 and parts[0] == VERSION else None


def _new_key_id(existing: dict) -> str:
    return f"k{len(existing) + 1}-{secrets.token_hex(3)}"


def _read(text: str, origin: str) -> FieldCipher:
    try:
        data = json.loads(text)
        return FieldCipher({k: _unb64(v) for k, v in data["keys"].items()}, data["active"])
    except (ValueError, KeyError, TypeError, AttributeError):
        raise ConfigError(f"{origin} is not a field keyring: JSON with `active` and `keys` "
                          "(id -> base64 32-byte key).") from None


def _write(path: Path, cipher: FieldCipher) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch(mode=0o600)
    path.write_text(json.dumps({"active": cipher.active,
                                "keys": {k: _b64(v) for k, v in cipher.keys.items()}}))


def keyring(settings: Settings | None = None) -> FieldCipher:
    """The field keys: from SALESOPS_FIELD_KEYS, else the data folder's file (made if new)."""
    if text := os.environ.get(KEYS_ENV):
        return _read(text, KEYS_ENV)
    path = (settings or get_settings()).data_path / KEYS_FILE
    if path.exists():
        return _read(path.read_text(), str(path))
    kid = _new_key_id({})
    cipher = FieldCipher({kid: secrets.token_bytes(32)}, kid)
    _write(path, cipher)
    return cipher


@lru_cache(maxsize=1)
def process_cipher() -> FieldCipher:
    """This process's keyring (the settings' data folder or SALESOPS_FIELD_KEYS), which
    sealed columns use; read once. A server started before a rotation keeps sealing with
    the key active then, which stays readable: restart it after `salesops keys rotate`."""
    return keyring()


def add_key(settings: Settings | None = None) -> FieldCipher:
    """A new active key in the data folder's keyring (old keys kept to open old values)."""
    process_cipher.cache_clear()
    if os.environ.get(KEYS_ENV):
        return keyring(settings)  # the variable's owner chooses the active key
    current = keyring(settings)
    kid = _new_key_id(current.keys)
    cipher = FieldCipher({**current.keys, kid: secrets.token_bytes(32)}, kid)
    _write((settings or get_settings()).data_path / KEYS_FILE, cipher)
    return cipher


def rotate(engine: sa.Engine, cipher: FieldCipher, batch: int = 500) -> int:
    """Re-encrypt every sealed value not under the active key; returns how many.

    Each table is done in one transaction (rows locked), so a failure changes nothing
    of that table; running it again continues where it stopped.
    """
    done = 0
    for table, column in SEALED_COLUMNS:
        context = f"{table}.{column}"
        with engine.begin() as conn:
            rows = conn.execute(sa.text(
                f"select id, {column} from {table} where {column} is not null "
                f"and {column} not like :active order by id for update"),
                {"active": f"{VERSION}:{cipher.active}:%"}).all()
            for start in range(0, len(rows), batch):
                chunk = rows[start:start + batch]
                conn.execute(sa.text(f"update {table} set {column} = :value where id = :id"),
                             [{"id": r[0], "value": cipher.seal(cipher.open(r[1], context),
                                                                context)} for r in chunk])
            done += len(rows)
    return done
