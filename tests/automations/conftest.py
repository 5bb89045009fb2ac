"""The automation tests' fixtures: a real SMTP server (aiosmtpd on a loopback port) that
records what it receives, and a link tracker. Their helpers are in tests/automations/helpers.py."""

from __future__ import annotations

import pytest
from aiosmtpd.controller import Controller

from salesops.automation.tracking import Tracker
from tests.automations.helpers import BASE_URL, SECRET, Inbox, free_port


@pytest.fixture
def smtp():
    """(inbox, port) of a running SMTP server, stopped after the test."""
    inbox = Inbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    yield inbox, port
    controller.stop()


@pytest.fixture
def tracker() -> Tracker:
    return Tracker(SECRET, BASE_URL)
