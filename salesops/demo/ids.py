"""Record ids in the shapes of the real systems, computed from counters without lookups.

A counter (e.g. the person's global index times a slot count) is scrambled by a bijection,
so ids are unique, stable across chunks, and do not line up between objects: the Lead and
the Contact of one person do not share an id tail a matcher could cheat with.
"""

from __future__ import annotations

import zlib

import numpy as np

_BASE62 = np.frombuffer(b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz", np.uint8)
_SUFFIX = np.frombuffer(b"ABCDEFGHIJKLMNOPQRSTUVWXYZ012345", np.uint8)
_POD = b"5g0"  # instance and reserved characters of a 15-character Salesforce id
_HEX = np.frombuffer(b"0123456789abcdef", np.uint8)
_UUID_HEX = [i for i in range(36) if i not in (8, 13, 18, 23)]


def scramble(counter: np.ndarray, salt: str, bits: int) -> np.ndarray:
    """A salted bijection of [0, 2**bits): multiply by odd numbers and xor-shift."""
    mask = np.uint64((1 << bits) - 1)
    x = (np.asarray(counter, dtype=np.uint64) + np.uint64(zlib.crc32(salt.encode()))) & mask
    with np.errstate(over="ignore"):
        x = (x * np.uint64(0x9E3779B97F4A7C15)) & mask
        x ^= x >> np.uint64(bits // 2)
        x = (x * np.uint64(0xBF58476D1CE4E5B9)) & mask
    return x


def salesforce(prefix: str, counter: np.ndarray) -> np.ndarray:
    """18-character Salesforce ids: key prefix, pod, base62 number, case-safe checksum."""
    value = scramble(counter, prefix, 48)
    n = len(value)
    chars = np.empty((n, 18), dtype=np.uint8)
    chars[:, :3] = np.frombuffer(prefix.encode(), np.uint8)
    chars[:, 3:6] = np.frombuffer(_POD, np.uint8)
    for pos in range(14, 5, -1):
        chars[:, pos] = _BASE62[(value % np.uint64(62)).astype(np.int64)]
        value = value // np.uint64(62)
    upper = (chars[:, :15] >= ord("A")) & (chars[:, :15] <= ord("Z"))
    weights = 1 << np.arange(5)
    for block in range(3):
        bits = upper[:, block * 5 : block * 5 + 5] @ weights
        chars[:, 15 + block] = _SUFFIX[bits]
    return chars.view("S18").ravel().astype("U18").astype(object)


def hubspot(kind: str, counter: np.ndarray) -> np.ndarray:
    """HubSpot object ids: decimal strings, as the v3 API returns them."""
    return (scramble(counter, kind, 36) + np.uint64(1_000)).astype(str).astype(object)


def uuids(rng: np.random.Generator, n: int) -> np.ndarray:
    """Random version-4 UUID strings drawn from the run's generator (so reproducible)."""
    nibbles = rng.integers(0, 16, size=(n, 32), dtype=np.uint8)
    nibbles[:, 12] = 4  # version
    nibbles[:, 16] = 8 + (nibbles[:, 16] & 3)  # RFC 4122 variant
    chars = np.full((n, 36), ord("-"), dtype=np.uint8)
    chars[:, _UUID_HEX] = _HEX[nibbles]
    return chars.view("S36").ravel().astype("U36").astype(object)
