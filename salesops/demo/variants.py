"""How each source distorts a person's canonical attributes: the mess matchers must undo.

Every function takes the run's generator and whole arrays, and changes a random share of the
rows, so the rate of each kind of mess is a visible parameter.
"""

from __future__ import annotations

import numpy as np

from salesops.demo.vocab import Vocab

TAGS = ("news", "hubspot", "webinar", "work", "demo", "crm")


def _rows(rng: np.random.Generator, n: int, share: float) -> np.ndarray:
    return np.flatnonzero(rng.random(n) < share)


def emails(rng: np.random.Generator, canonical: np.ndarray, *, case: float = 0.05,
           space: float = 0.01, tag: float = 0.0, broken: float = 0.02) -> np.ndarray:
    """Change case, pad with whitespace, add +tag addressing, or break the address."""
    out = canonical.astype(object).copy()
    for i in _rows(rng, len(out), tag):
        local, domain = out[i].split("@", 1)
        out[i] = f"{local}+{TAGS[rng.integers(len(TAGS))]}@{domain}"
    for i in _rows(rng, len(out), case):
        local, domain = out[i].split("@", 1)
        out[i] = (out[i].upper() if rng.random() < 0.2
                  else f"{local.title()}@{domain.capitalize()}")
    for i in _rows(rng, len(out), space):
        out[i] = (" ", "", "  ")[rng.integers(3)] + out[i] + (" ", "\t", " ")[rng.integers(3)]
    for i in _rows(rng, len(out), broken):
        out[i] = _break_email(rng, out[i].strip())
    return out


def _break_email(rng: np.random.Generator, address: str) -> str:
    local, domain = address.split("@", 1)
    return (
        f"{local}@",
        f"{local} at {domain}",
        f"{local}@{domain.rsplit('.', 1)[0]}",
        f"{local}@@{domain}",
        f"{local.replace('.', ' ')}@{domain}" if "." in local else f"{local} @{domain}",
        f"{local}@{domain},",
        f"@{domain}",
        f"{local}.{domain}",
    )[rng.integers(8)]


def first_names(rng: np.random.Generator, vocab: Vocab, first: np.ndarray,
                nickname: float) -> np.ndarray:
    """Use the nickname (Robert -> Bob) where the person has a common one."""
    out = first.astype(object).copy()
    for i in _rows(rng, len(out), nickname):
        out[i] = vocab.nicknames.get(out[i], out[i])
    return out


def names(rng: np.random.Generator, values: np.ndarray, *, lower: float = 0.0,
          upper: float = 0.0, space: float = 0.0) -> np.ndarray:
    """Form-typed names: lower case, shouting, stray whitespace."""
    out = values.astype(object).copy()
    for i in _rows(rng, len(out), lower):
        out[i] = out[i].lower()
    for i in _rows(rng, len(out), upper):
        out[i] = out[i].upper()
    for i in _rows(rng, len(out), space):
        out[i] = f" {out[i]}  "
    return out


def companies(rng: np.random.Generator, values: np.ndarray, share: float) -> np.ndarray:
    """The same company spelt another way: legal suffix dropped or added, case, punctuation."""
    out = values.astype(object).copy()
    for i in _rows(rng, len(out), share):
        name = out[i]
        words = name.split(" ")
        out[i] = (
            " ".join(words[:-1]) if len(words) > 2 else f"{name} Inc.",
            name.upper(),
            name.replace(" & ", " and ") if " & " in name else f"{name}, Inc",
            name.lower(),
        )[rng.integers(4)]
    return out


def phones(rng: np.random.Generator, vocab: Vocab, digits: np.ndarray, country: np.ndarray,
           blank: float) -> np.ndarray:
    """Format national numbers the many ways people type them; blank a share."""
    style = rng.integers(0, 7, len(digits))
    ext = rng.integers(10, 999, len(digits))
    out = np.empty(len(digits), dtype=object)
    for i, (d, c, s) in enumerate(zip(digits, country, style, strict=True)):
        spec = vocab.countries[c]
        groups, pos = [], 0
        for size in spec.phone_groups:
            groups.append(d[pos:pos + size])
            pos += size
        nanp = spec.phone_cc == "1"
        out[i] = (
            f"+{spec.phone_cc} {' '.join(groups)}",
            f"+{spec.phone_cc}{d}",
            f"({groups[0]}) {groups[1]}-{groups[2]}" if nanp else f"0{' '.join(groups)}",
            "-".join(groups) if nanp else f"+{spec.phone_cc}-{'-'.join(groups)}",
            ".".join(groups) if nanp else f"00{spec.phone_cc} {' '.join(groups)}",
            d,
            f"+{spec.phone_cc} {' '.join(groups)} ext. {ext[i]}",
        )[s]
    out[_rows(rng, len(out), blank)] = ""
    return out


def blank(rng: np.random.Generator, values: np.ndarray, share: float) -> np.ndarray:
    """Empty a share of the cells: fields nobody filled in."""
    out = np.asarray(values).astype(object).copy()
    out[_rows(rng, len(out), share)] = ""
    return out


def amounts(rng: np.random.Generator, values: np.ndarray, share: float) -> np.ndarray:
    """Amounts as text; a share typed the way people do (USD 12,000 / 12k / TBD)."""
    out = np.array([f"{v:.2f}" for v in values], dtype=object)
    for i in _rows(rng, len(out), share):
        v = values[i]
        out[i] = (f"USD {v:,.0f}", f"{v / 1000:.0f}k", "TBD", f"${v:,.2f}",
                  f"{v:,.2f}".replace(",", "X").replace(".", ",").replace("X", "."))[
            rng.integers(5)]
    return out


def dates(rng: np.random.Generator, iso_dates: np.ndarray, share: float) -> np.ndarray:
    """Re-spell a share of ISO dates as 03/04/2025 or 04.03.2025 (a spreadsheet round trip)."""
    out = iso_dates.astype(object).copy()
    for i in _rows(rng, len(out), share):
        d = out[i]
        if d:
            out[i] = f"{d[5:7]}/{d[8:10]}/{d[:4]}" if rng.random() < 0.6 else \
                f"{d[8:10]}.{d[5:7]}.{d[:4]}"
    return out
