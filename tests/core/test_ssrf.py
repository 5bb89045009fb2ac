"""The SSRF guard refuses internal addresses however they are spelled, and redirects to
them; a configured host passes."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest

from salesops.security.ssrf import UnsafeUrl, check_url, request

BYPASSES = [
    "http://127.0.0.1/", "http://localhost/", "http://LOCALHOST./", "http://127.1/",
    "http://2130706433/", "http://0x7f000001/", "http://0177.0.0.1/", "http://0x7f.1/",
    "http://0/", "http://0.0.0.0/", "http://[::1]/", "http://[::]/",
    "http://[::ffff:127.0.0.1]/", "http://[::ffff:7f00:1]/", "http://[0:0:0:0:0:ffff:a9fe:a9fe]/",
    "http://169.254.169.254/latest/meta-data/", "http://[fe80::1]/", "http://10.0.0.1/",
    "http://172.16.5.4/", "http://192.168.1.1/", "http://100.64.0.1/", "http://224.0.0.1/",
    "http://[fc00::1]/", "http://127。0。0。1/", "http://evil.example@127.0.0.1/",
    "http://127.0.0.1:22/", "http://[2002:7f00:1::]/",
    "file:///etc/passwd", "gopher://127.0.0.1:25/", "ftp://example.com/", "http://",
    "http://exa mple.com/", "javascript:alert(1)",
]


@pytest.mark.parametrize("url", BYPASSES)
def test_internal_addresses_are_refused_however_spelled(url):
    with pytest.raises(UnsafeUrl) as refused:
        check_url(url)
    assert refused.value.code == "unsafe_url" and refused.value.message


def test_public_addresses_pass():
    target = check_url("https://93.184.216.34/hook")
    assert target.addresses == ("93.184.216.34",)
    assert check_url("http://[2606:4700:4700::1111]/").addresses == ("2606:4700:4700::1111",)


def test_a_configured_host_or_private_networks_pass():
    assert check_url("http://127.0.0.1:9/", allowed_hosts=["127.0.0.1"]).host == "127.0.0.1"
    assert check_url("http://10.1.2.3/", allow_private=True).addresses == ("10.1.2.3",)


class _Handler(BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802
        if self.path == "/redirect":
            self.send_response(302)
            self.send_header("Location", "http://169.254.169.254/latest/meta-data/")
            self.end_headers()
            return
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args):
        pass


@pytest.fixture
def local_server():
    server = HTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_requests_check_the_url_and_every_redirect(local_server):
    with pytest.raises(UnsafeUrl):
        request("GET", f"{local_server}/")
    ok = request("GET", f"{local_server}/", allowed_hosts=["127.0.0.1"])
    assert ok.status_code == 200 and ok.text == "ok"
    with pytest.raises(UnsafeUrl, match="169.254.169.254"):
        request("GET", f"{local_server}/redirect", allowed_hosts=["127.0.0.1"])
