"""The dashboards in headless Chromium (Debian's, driven by playwright): streamlit on the
hand-made rows, a filter picked in the sidebar and kept in the address, every page opened
and screenshotted into test-artifacts/dashboards/, and one work-queue action sent to the
real API (served by uvicorn over the same database, work_api.py)."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa

from tests.dashboards.dashboard_app import APP, PAGES
from tests.dashboards.marts_rows import HALF_YEAR
from tests.dashboards.work_api import EMAIL, PASSWORD, ServedApi, WorkQueue, cheap_security, seed

pytestmark = pytest.mark.skipif(
    not shutil.which("chromium"),
    reason="Debian's chromium is not installed (apt-get install chromium); .ci/run installs it")

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "dashboards"
#: The launch flags of tests/cli/test_up.py.
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]
IDLE = "[data-testid='stApp'][data-test-script-state='notRunning']"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def work_api(data_url: str, engine: sa.Engine, redis_url: str,
             tmp_path_factory) -> Iterator[tuple[ServedApi, WorkQueue]]:
    """The API over the test database, with a rep's leads and tasks next to the marts."""
    security = cheap_security()
    queue = seed(engine, security)
    with ServedApi(data_url, redis_url, security, tmp_path_factory.mktemp("api")) as api:
        yield api, queue


@pytest.fixture(scope="module")
def streamlit_url(data_url: str, work_api: tuple[ServedApi, WorkQueue],
                  tmp_path_factory) -> Iterator[str]:
    port = free_port()
    log = tmp_path_factory.mktemp("streamlit") / "streamlit.log"
    env = {**os.environ, "DATABASE_URL": data_url, "SALESOPS_API_URL": work_api[0].url}
    with open(log, "w") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", str(APP), "--server.port", str(port),
             "--server.address", "127.0.0.1", "--server.headless", "true",
             "--browser.gatherUsageStats", "false", "--client.toolbarMode", "viewer",
             "--server.fileWatcherType", "none", "--server.runOnSave", "false"],
            env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{url}/_stcore/health", timeout=2).text == "ok":
                    break
            except httpx.TransportError:
                pass
            assert proc.poll() is None, f"streamlit exited:\n{log.read_text()}"
            assert time.monotonic() < deadline, f"streamlit did not start:\n{log.read_text()}"
            time.sleep(0.5)
        yield url
    finally:
        proc.terminate()
        proc.wait(30)


@pytest.fixture(scope="module")
def browser_page(streamlit_url: str):
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=shutil.which("chromium"),
                                    args=CHROMIUM_ARGS)
        # tall enough that a screenshot holds the whole page (streamlit scrolls inside)
        page = browser.new_page(viewport={"width": 1400, "height": 1800})
        page.set_default_timeout(90_000)  # a first run on a busy machine can be slow
        yield page
        browser.close()


#: True once every plotly chart on the page has drawn its SVG.
CHARTS_DRAWN = """() => [...document.querySelectorAll("[data-testid='stPlotlyChart']")]
    .every(chart => chart.querySelector('.main-svg'))"""


def settle(page) -> None:
    """Wait until the script run the last action started has finished and its charts are
    drawn."""
    page.wait_for_timeout(300)
    page.wait_for_selector(IDLE)
    page.wait_for_function(CHARTS_DRAWN)
    page.wait_for_timeout(500)  # tables paint on a canvas after they mount


def url_path(page_file: str) -> str:
    return "" if page_file.endswith("overview.py") else Path(page_file).stem


def test_a_filter_picked_in_the_sidebar_is_kept_in_the_address(browser_page, streamlit_url):
    page = browser_page
    page.goto(f"{streamlit_url}/pipeline?range={HALF_YEAR}")
    page.get_by_role("heading", name="Pipeline", exact=True).wait_for()
    settle(page)
    rows_before = page.locator("[data-testid='stMetricValue']").first.inner_text()
    rep = page.locator("[data-testid='stMultiSelect']").filter(has_text="Rep")
    rep.click()
    page.get_by_role("option", name="Bob").click()
    page.keyboard.press("Escape")
    settle(page)
    assert "rep=Bob" in page.url
    assert page.locator("[data-testid='stMetricValue']").first.inner_text() == "$1,500"
    assert rows_before == "$5,500"
    page.screenshot(path=str(ARTIFACTS / "pipeline-filtered.png"), full_page=True)


@pytest.mark.parametrize("page_file", PAGES)
def test_every_page_renders_in_a_browser(browser_page, streamlit_url, page_file):
    page = browser_page
    page.goto(f"{streamlit_url}/{url_path(page_file)}?range={HALF_YEAR}")
    page.get_by_role("heading", name=PAGES[page_file], exact=True).wait_for()
    settle(page)
    page.screenshot(path=str(ARTIFACTS / f"{Path(page_file).stem}.png"), full_page=True)
    assert page.locator("[data-testid='stException']").count() == 0


def test_log_in_and_qualify_a_lead_from_the_work_queue(browser_page, streamlit_url, work_api,
                                                       engine):
    lead = work_api[1].leads["high"]
    page = browser_page
    page.goto(f"{streamlit_url}/work_queue")
    page.get_by_label("Email").fill(EMAIL)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.get_by_text("My leads by priority").wait_for()
    settle(page)
    page.locator(f".st-key-qualify-{lead} button").click()
    page.get_by_text(f"Lead {lead} qualified.").wait_for()
    settle(page)
    page.screenshot(path=str(ARTIFACTS / "work_queue-after-qualify.png"), full_page=True)
    with engine.connect() as conn:
        assert conn.execute(sa.text("select status from app.leads where id = :id"),
                            {"id": lead}).scalar() == "qualified"
    assert page.locator("[data-testid='stException']").count() == 0
