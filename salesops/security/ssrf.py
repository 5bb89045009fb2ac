"""The SSRF guard: calls the server makes on a user's behalf (webhooks, enrichment) go to
public addresses only, unless configured otherwise.

`check_url` parses the URL, resolves its host with the system resolver (which also reads
the odd spellings attackers use: `2130706433`, `0x7f.1`, `0177.0.0.1`, `127.1`) and refuses
it when any address is loopback, private, link-local (cloud metadata), multicast, reserved
or unspecified, including IPv4 mapped into IPv6. `request` checks every redirect hop the
same way. Hosts in `allowed_hosts` (exact names) and, with `allow_private`, every address
pass: for an on-premises CRM, say.

Known limit: the name is resolved again when connecting, so a DNS server that answers
differently the second time (rebinding) is not stopped here; run egress through a proxy
for that.
"""

from __future__ import annotations

import ipaddress
import socket
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

import httpx

from salesops.domain.errors import InvalidInput

SCHEMES = ("http", "https")
MAX_REDIRECTS = 5


class UnsafeUrl(InvalidInput):
    code = "unsafe_url"
    default_message = "The URL points at an address the server may not call."


@dataclass(frozen=True)
class Target:
    url: str
    host: str
    addresses: tuple[str, ...]


def _is_public(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    if isinstance(address, ipaddress.IPv6Address):
        mapped = address.ipv4_mapped or address.sixtofour
        if mapped is not None:
            return _is_public(mapped)
        if address.teredo:
            return False
    return address.is_global and not (address.is_multicast or address.is_reserved
                                      or address.is_unspecified)


def _resolve(host: str, port: int) -> list[str]:
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise UnsafeUrl(f"The host {host!r} does not resolve ({exc}).", field="url") from None
    return sorted({info[4][0].split("%")[0] for info in infos})


def check_url(url: str, *, allow_private: bool = False,
              allowed_hosts: Iterable[str] = ()) -> Target:
    """The URL and the addresses it resolves to, or UnsafeUrl saying why not."""
    url = unicodedata.normalize("NFKC", str(url or "")).strip()  # 127。0。0。1 -> 127.0.0.1
    try:
        parts = urlsplit(url)
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise UnsafeUrl("The URL is not valid.", field="url") from None
    if parts.scheme not in SCHEMES:
        raise UnsafeUrl(f"Only {' and '.join(SCHEMES)} URLs may be called.", field="url")
    host = (parts.hostname or "").rstrip(".")
    if not host or any(c in host for c in "\x00\\ "):
        raise UnsafeUrl("The URL has no valid host.", field="url")
    addresses = _resolve(host, port)
    if allow_private or host.lower() in {h.lower() for h in allowed_hosts}:
        return Target(url, host, tuple(addresses))
    blocked = [a for a in addresses if not _is_public(ipaddress.ip_address(a))]
    if blocked or not addresses:
        raise UnsafeUrl(f"{host} resolves to {', '.join(blocked) or 'nothing'}, which is not "
                        "a public address; allow it in the SSRF settings if it is meant.",
                        field="url", details={"addresses": blocked})
    return Target(url, host, tuple(addresses))


def request(method: str, url: str, *, allow_private: bool = False,
            allowed_hosts: Iterable[str] = (), timeout: float = 10.0,
            client: httpx.Client | None = None, **kwargs) -> httpx.Response:
    """An HTTP request whose URL and every redirect hop pass `check_url`."""
    allowed = tuple(allowed_hosts)
    own = client is None
    client = client or httpx.Client(timeout=timeout)
    try:
        for _ in range(MAX_REDIRECTS + 1):
            check_url(url, allow_private=allow_private, allowed_hosts=allowed)
            response = client.request(method, url, follow_redirects=False, **kwargs)
            if not response.is_redirect:
                return response
            url = urljoin(url, response.headers["location"])
            if response.status_code in (301, 302, 303):
                method, kwargs = "GET", {k: v for k, v in kwargs.items()
                                         if k not in ("content", "data", "json", "files")}
        raise UnsafeUrl(f"More than {MAX_REDIRECTS} redirects.", field="url")
    finally:
        if own:
            client.close()
