"""Fixtures for the deployment tests: one running stack shared by the GraphQL and browser tests,
and a Chromium page that fails its test on any console error."""

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.deploy.stack import Stack, running_stack

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-output" / "ui"


@pytest.fixture(scope="package")
def stack(mirror_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """deploy/run-stack.sh serving the loopback mirror's months; stopped (and checked for
    leftover processes) when the last test of tests/deploy is done."""
    with running_stack(mirror_url, tmp_path_factory.mktemp("stack")) as running:
        yield running


@pytest.fixture(scope="package")
def browser() -> Iterator:
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: apt-get install chromium (.ci/run does)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser, request: pytest.FixtureRequest) -> Iterator:
    """A fresh page; the test fails if the page logs a console error or throws."""
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    page = context.new_page()
    page.set_default_timeout(30_000)
    errors: list[str] = []
    page.on("console", lambda message: message.type == "error" and errors.append(message.text))
    page.on("pageerror", lambda error: errors.append(str(error)))
    yield page
    context.close()
    if errors:
        pytest.fail(f"console errors in {request.node.name}: {errors}")


@pytest.fixture
def screenshot(page, request: pytest.FixtureRequest):
    """`screenshot("step")` saves test-output/ui/<test>/<n>-step.png."""
    folder = SCREENSHOTS / request.node.name
    folder.mkdir(parents=True, exist_ok=True)
    taken = []

    def take(step: str) -> Path:
        taken.append(step)
        path = folder / f"{len(taken):02d}-{step}.png"
        page.screenshot(path=str(path))
        return path

    return take
