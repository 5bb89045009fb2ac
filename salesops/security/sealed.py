"""Sealed columns: sensitive values stored encrypted, seen as plaintext by the code.

A model column typed `Sealed("app.table.column")` is sealed with the process's field keys
(`crypto.process_cipher`) whenever SQLAlchemy binds it (ORM flushes, Core inserts and
updates) and opened whenever a query returns it, so the domain services read and write
plaintext and the database only ever holds `v1:<key id>:...`. An equality condition on a
sealed column can never match (every seal has a fresh nonce): match on its blind index.

Set-based writers that compute values in SQL (the merge) stage them in a temporary table
and call `seal_staged` before copying them into the sealed table: the one place where
plaintext computed by the database is sealed.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from functools import lru_cache
from typing import Any

import psycopg
import sqlalchemy as sa
from sqlalchemy.types import TypeDecorator

from salesops.security.crypto import process_cipher
from salesops.settings import get_settings

PHONE_CONTEXT = "app.contacts.phone"
#: Every note's body: a private note's is sensitive, and a column is sealed or not.
NOTE_BODY_CONTEXT = "app.notes.body"
_EXTENSION = re.compile(r"\s*(?:ext\.?|extension|x|#)\s*\d+\s*$", re.IGNORECASE)


class Sealed(TypeDecorator):
    """Text in the database, sealed with the column's name as associated data; `kind`
    (str or Decimal) is what the code reads back."""

    impl = sa.Text
    cache_ok = True

    def __init__(self, context: str, kind: type = str) -> None:
        super().__init__()
        self.context = context
        self.kind = kind

    def process_bind_param(self, value: Any, dialect: Any) -> str | None:
        if value is None:
            return None
        return process_cipher().seal(str(value), self.context)

    def process_result_value(self, value: str | None, dialect: Any) -> Any:
        if value is None:
            return None
        return self.kind(process_cipher().open(value, self.context))

    @property
    def python_type(self) -> type:
        return self.kind


def normalize_phone(phone: str | None, region: str | None = None) -> str | None:
    """The phone's matching form: E.164, as the merge matches people (`salesops.identity`;
    a number without a country code is read in `region`, by default
    `SALESOPS_PHONE_REGION`, `00` as `+`, an extension dropped); None when it is not a
    possible number."""
    if not phone:
        return None
    text = _EXTENSION.sub("", phone.strip())
    return _e164("+" + text[2:] if text.startswith("00") else text,
                 region or get_settings().phone_region)


@lru_cache(maxsize=65_536)
def _e164(text: str, region: str) -> str | None:
    from salesops.identity import e164  # numpy and scipy: only once a phone is written

    return e164([text], region).get(text)


def phone_index(phone: str | None) -> str | None:
    """The blind index of a phone number (None when it has no usable digits)."""
    normalized = normalize_phone(phone)
    return None if normalized is None else process_cipher().blind_index(normalized,
                                                                         PHONE_CONTEXT)


#: Sealed columns that are matched: their blind index column and the normalisation
#: (value, phone region) it indexes.
BLIND_INDEXES: dict[str, tuple[str, Callable[[str, str], str | None]]] = {
    PHONE_CONTEXT: ("phone_index", normalize_phone)}


def seal_values(values: Iterable[str], context: str) -> dict[str, tuple[str, str | None]]:
    """Each plaintext sealed for the column `context`, with its blind index (None without
    one): the Python half of `seal_staged`, which a bulk writer can run in a thread while
    the database works on the rows (~70 µs a phone, `phonenumbers` most of it)."""
    cipher = process_cipher()
    normalize = BLIND_INDEXES.get(context, (None, None))[1]
    region = get_settings().phone_region
    sealed = {}
    for plain in values:
        normalized = normalize(plain, region) if normalize else None
        sealed[plain] = (cipher.seal(plain, context), None if normalized is None
                         else cipher.blind_index(normalized, context))
    return sealed


def seal_staged(cur: psycopg.Cursor, staged: str, target: str, column: str,
                key: str = "id",
                prepared: Mapping[str, tuple[str, str | None]] | None = None) -> None:
    """Seal `staged.column` (a temporary table of plaintext rows about to be upserted into
    `target` by `key`) in place; a column with a blind index gets it in `staged` too.

    A row whose target already holds the same plaintext keeps that ciphertext, so an
    unchanged value stays byte-equal and a re-run changes nothing. `prepared` holds values
    sealed beforehand (`seal_values`); the others are sealed here.
    """
    context = f"{target}.{column}"
    index_column = BLIND_INDEXES.get(context, (None,))[0]
    cipher = process_cipher()
    cur.execute(f"select s.{key}, s.{column}, t.{column} from {staged} s "
                f"left join {target} t on t.{key} = s.{key} where s.{column} is not null")
    rows = cur.fetchall()
    prepared = prepared or {}
    todo = {plain for _, plain, _ in rows if plain not in prepared}
    values = {**prepared, **seal_values(todo, context)} if todo else prepared
    cur.execute("drop table if exists _sealed; create temp table _sealed (key bigint primary "
                "key, value text, blind text) on commit drop")
    with cur.copy("copy _sealed (key, value, blind) from stdin") as copy:
        for row_key, plain, current in rows:
            value, blind = values[plain]
            if current is not None and cipher.open(current, context) == plain:
                value = current
            copy.write_row((row_key, value, blind))
    if index_column:
        cur.execute(f"alter table {staged} add column if not exists {index_column} text")
    also = f", {index_column} = x.blind" if index_column else ""
    cur.execute(f"update {staged} s set {column} = x.value{also} from _sealed x "
                f"where x.key = s.{key}")
