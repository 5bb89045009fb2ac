"""Field encryption: AES-GCM values carry their key id, refuse tampering and other
columns, and `salesops keys rotate` re-encrypts every sealed value under a new key."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
import sqlalchemy as sa

from salesops.security import crypto
from salesops.security.crypto import DecryptionError, FieldCipher
from salesops.settings import Settings

CONTEXT = "app.crm_integrations.credentials_encrypted"


@pytest.fixture
def settings(tmp_path, monkeypatch) -> Settings:
    monkeypatch.delenv(crypto.KEYS_ENV, raising=False)
    return Settings(data_dir=tmp_path / "data")


def test_values_round_trip_with_their_key_id_and_fresh_nonces(settings):
    cipher = crypto.keyring(settings)
    one, two = cipher.seal("s3cret token", CONTEXT), cipher.seal("s3cret token", CONTEXT)
    assert one != two and "s3cret" not in one
    assert FieldCipher.key_id(one) == cipher.active
    assert cipher.open(one, CONTEXT) == cipher.open(two, CONTEXT) == "s3cret token"
    path = settings.data_path / crypto.KEYS_FILE
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    assert crypto.keyring(settings) == cipher  # the same keys next time


def test_tampered_misplaced_or_unknown_values_do_not_open(settings):
    cipher = crypto.keyring(settings)
    sealed = cipher.seal("token", CONTEXT)
    flipped = sealed[:-2] + ("A" if sealed[-2] != "A" else "B") + sealed[-1]
    for bad, context in ((flipped, CONTEXT), (sealed, "app.other.column"),
                         ("v1:nokey:AAAA", CONTEXT), ("plain text", CONTEXT)):
        with pytest.raises(DecryptionError):
            cipher.open(bad, context)


def test_keys_from_the_environment(monkeypatch, settings):
    key = crypto._b64(b"k" * 32)
    monkeypatch.setenv(crypto.KEYS_ENV, json.dumps({"active": "ops1", "keys": {"ops1": key}}))
    cipher = crypto.keyring(settings)
    assert cipher.active == "ops1" and FieldCipher.key_id(cipher.seal("x", CONTEXT)) == "ops1"
    monkeypatch.setenv(crypto.KEYS_ENV, "{broken")
    with pytest.raises(crypto.ConfigError, match="SALESOPS_FIELD_KEYS"):
        crypto.keyring(settings)


def test_rotate_re_encrypts_every_sealed_value(settings, clean_db, database_url):
    old = crypto.keyring(settings)
    secrets_by_name = {f"crm{n}": f"token-{n}" for n in range(3)}
    with clean_db.begin() as conn:
        for name, secret in secrets_by_name.items():
            conn.execute(sa.text(
                "insert into app.crm_integrations (name, provider, credentials_encrypted) "
                "values (:n, 'hubspot', :c)"), {"n": name, "c": old.seal(secret, CONTEXT)})
        conn.execute(sa.text("insert into app.crm_integrations (name, provider) "
                             "values ('no-secret', 'csv')"))
    env = {**os.environ, "SALESOPS_DATA_DIR": str(settings.data_dir),
           "DATABASE_URL": database_url}
    env.pop(crypto.KEYS_ENV, None)
    result = subprocess.run([sys.executable, "-m", "salesops", "keys", "rotate"], env=env,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    new = crypto.keyring(settings)
    assert new.active != old.active and set(old.keys) < set(new.keys)
    assert result.stdout.strip() == f"active key {new.active}: re-encrypted 3 values"
    with clean_db.connect() as conn:
        rows = dict(conn.execute(sa.text(
            "select name, credentials_encrypted from app.crm_integrations")).all())
    assert rows.pop("no-secret") is None
    assert {FieldCipher.key_id(v) for v in rows.values()} == {new.active}
    assert {n: new.open(v, CONTEXT) for n, v in rows.items()} == secrets_by_name
    assert crypto.rotate(clean_db, new) == 0  # nothing left to do
