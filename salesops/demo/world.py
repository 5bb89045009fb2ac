"""What every chunk of people shares: the scale, the vocabulary, the sales org, the campaigns."""

from __future__ import annotations

import zlib
from dataclasses import dataclass

import numpy as np

from salesops.demo.campaigns import Campaigns
from salesops.demo.users import SalesOrg
from salesops.demo.vocab import Vocab

CHUNK = 10_000  # people generated, written and forgotten at a time


def rng_for(seed: int, stream: str, index: int = 0) -> np.random.Generator:
    """An independent generator per (stream, chunk): output never depends on call order."""
    return np.random.default_rng([seed, zlib.crc32(stream.encode()), index])


@dataclass(frozen=True)
class World:
    scale: int
    vocab: Vocab
    org: SalesOrg
    campaigns: Campaigns
