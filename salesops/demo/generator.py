"""The generator's entry point: validate, build the shared world, stream people in chunks."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

from salesops.demo import campaigns, people, pipeline, users
from salesops.demo.activities import Activities
from salesops.demo.hubspot import HubSpotExport
from salesops.demo.mail import MailExport
from salesops.demo.salesforce import SalesforceExport
from salesops.demo.vocab import load
from salesops.demo.web import WebExport
from salesops.demo.world import CHUNK, World, rng_for
from salesops.demo.writer import Output
from salesops.errors import SalesopsError

FORMAT = 1
MIN_SCALE, MAX_SCALE = 100, 1_000_000
OWNED = ("manifest.json", "salesforce", "hubspot", "mail", "webforms", "touchpoints")

Progress = Callable[[str, int, int], None]


def _check(scale: int, seed: int) -> None:
    if isinstance(scale, bool) or not isinstance(scale, int) or not (
            MIN_SCALE <= scale <= MAX_SCALE):
        raise SalesopsError(
            f"demo scale must be a whole number of people from {MIN_SCALE:,} to {MAX_SCALE:,};"
            f" got {scale!r}")
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise SalesopsError(f"demo seed must be a whole number >= 0; got {seed!r}")


def _prepare(out_dir: Path) -> None:
    """Empty the folder of an earlier data set; refuse a folder holding anything else."""
    if out_dir.exists() and not out_dir.is_dir():
        raise SalesopsError(f"{out_dir} is a file; give a folder for the demo data")
    out_dir.mkdir(parents=True, exist_ok=True)
    entries = sorted(p.name for p in out_dir.iterdir())
    foreign = [name for name in entries if name not in OWNED]
    if foreign or (entries and "manifest.json" not in entries):
        raise SalesopsError(
            f"{out_dir} holds files that are not demo data ({', '.join((foreign or entries)[:3])})"
            "; choose an empty or new folder, or delete it")
    for name in OWNED:
        path = out_dir / name
        if path.is_dir():
            shutil.rmtree(path)
        elif path.exists():
            path.unlink()


def generate(out_dir: Path, scale: int, seed: int, progress: Progress | None = None
             ) -> dict[str, Any]:
    """Write the demo data set of `scale` people to `out_dir` and return its manifest.

    The same seed and scale always give byte-identical files. People are generated and
    written in chunks, so memory does not grow with scale; `progress(step, done, total)`
    is called after each chunk.
    """
    _check(scale, seed)
    out_dir = Path(out_dir)
    _prepare(out_dir)
    vocab = load()
    world = World(
        scale=scale, vocab=vocab,
        org=users.build(rng_for(seed, "users"), scale, vocab),
        campaigns=campaigns.build(rng_for(seed, "campaigns"), scale),
    )
    report = progress or (lambda step, done, total: None)
    report("people", 0, scale)
    taken_domains: set[str] = set()
    with Output(out_dir) as out:
        salesforce = SalesforceExport(out, world)
        activities = Activities(out, world)
        hubspot = HubSpotExport(out, world)
        web = WebExport(out, world)
        mail = MailExport(out, world)
        try:
            for index, start in enumerate(range(0, scale, CHUNK)):
                n = min(CHUNK, scale - start)
                chunk = people.make_chunk(world, rng_for(seed, "people", index), start, n,
                                          taken_domains)
                deals = pipeline.simulate(rng_for(seed, "pipeline", index), chunk)
                salesforce.write(rng_for(seed, "salesforce", index), chunk, deals)
                activities.write(rng_for(seed, "activities", index), chunk, deals)
                hubspot.write(rng_for(seed, "hubspot", index), chunk, deals)
                web.write(rng_for(seed, "web", index), chunk)
                mail.write(rng_for(seed, "mail", index), chunk, start + n)
                report("people", start + n, scale)
        finally:
            mail.close()
    manifest = {"format": FORMAT, "seed": seed, "scale": scale,
                "counts": dict(sorted(out.counts.items()))}
    (out_dir / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n",
                                           encoding="utf-8")
    return manifest
