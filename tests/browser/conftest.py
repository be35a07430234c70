"""Chromium through Playwright: Debian's /usr/bin/chromium, never a downloaded browser.

Every page of the desk that a browser test visits is checked with axe-core
(installed from the npm registry by ``make deps`` into ``tests/browser/node_modules``):
a violation of impact "serious" or "critical" fails the test, with the rule,
where on the page and what to do.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

CHROMIUM = os.environ.get("WIKIBRIDGE_TEST_CHROMIUM", "/usr/bin/chromium")
# Without the background-networking flags Chromium keeps calling out to the
# internet, which is closed here.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
]

AXE_JS = Path(__file__).with_name("node_modules") / "axe-core" / "axe.min.js"
#: The impacts that fail a test (axe's others are "minor" and "moderate").
FAILING_IMPACTS = ("serious", "critical")
# iframes: false — the only frame is a customer's HTML mail, sandboxed
# without scripts; axe would wait for an answer from it that never comes.
# axe refuses a second run while one is going ("Axe is already running"): the
# check a load started and the check at the end of a test can meet on a slow
# machine, so runs on one document wait for each other.
_RUN_AXE = """async (impacts) => {
  const previous = window.__wikibridgeAxe || Promise.resolve();
  const run = previous.catch(() => null).then(() =>
    axe.run(document, {resultTypes: ['violations'], iframes: false}));
  window.__wikibridgeAxe = run;
  const results = await run;
  return results.violations
    .filter((v) => impacts.includes(v.impact))
    .map((v) => ({
      id: v.id,
      impact: v.impact,
      help: v.help,
      targets: v.nodes.map((n) => n.target.join(' ')),
      summary: v.nodes.length ? v.nodes[0].failureSummary : '',
    }));
}"""
AXE_KEY = pytest.StashKey["AxeWatch"]()


def _gone(error: Exception) -> bool:
    """Whether a Playwright error only says the page moved on or closed meanwhile."""
    text = str(error)
    return any(words in text for words in ("destroyed", "has been closed", "detached", "navigat"))


class AxeWatch:
    """Runs axe-core on each document that loads in the pages of one browser context.

    Loads of other origins (the sandbox wikis, the OAuth provider: not the
    desk's pages) are left alone.  A page that navigates away while axe runs
    is checked when its next document loads.
    """

    def __init__(self, source: str, foreign_origins: set[str]) -> None:
        self.source = source
        self.foreign = foreign_origins
        self.problems: dict[tuple[str, str], str] = {}
        self.checked: list[str] = []
        self.pages: list[Any] = []
        self.running = 0

    def watch(self, page: Any) -> None:
        """Check every document that loads in ``page`` from now on."""
        self.pages.append(page)
        page.on("load", self.check)

    def check(self, page: Any) -> None:
        """Run axe on the document ``page`` shows now; remember what it finds."""
        url = page.url
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or f"{parts.scheme}://{parts.netloc}" in (
            self.foreign
        ):
            return
        self.running += 1
        try:
            violations = None
            for _ in range(3):
                try:
                    if page.evaluate("document.contentType") != "text/html":
                        return  # a JSON answer shown as text, say
                    # By evaluation, not a <script> tag: the desk's
                    # Content-Security-Policy allows no inline script, and
                    # pages must be checked as served.
                    if not page.evaluate("typeof window.axe === 'object'"):
                        page.evaluate(self.source)
                    violations = page.evaluate(_RUN_AXE, list(FAILING_IMPACTS))
                    break
                except Exception as error:  # noqa: BLE001 - Playwright's errors have no finer types
                    if _gone(error):
                        return
                    if "axe is not defined" in str(error):
                        # A new document (a page that refreshes itself) replaced
                        # the one axe was put into: put it into this one.
                        continue
                    self.problems[(url, "axe-error")] = f"{url}: axe-core could not run: {error}"
                    return
            if violations is None:
                return  # the page kept reloading; its next load is checked
        finally:
            self.running -= 1
        self.checked.append(url)
        for v in violations:
            # One entry per page and rule; the same rule again (a later visit,
            # the check at the end) keeps the first report.
            targets = v["targets"]
            shown = ", ".join(targets[:5]) + (
                f" and {len(targets) - 5} more" if len(targets) > 5 else ""
            )
            summary = v["summary"].replace("\n", "\n    ")
            self.problems.setdefault(
                (parts.path, v["id"]),
                f"{url}: {v['id']} ({v['impact']}): {v['help']}\n  at {shown}\n    {summary}",
            )

    def settle(self, page: Any) -> None:
        """Wait until the checks that loads started have their answers (60 s at most)."""
        page.wait_for_load_state("load")
        for _ in range(1200):
            if not self.running:
                return
            # Lets Playwright deliver the answers the checks wait for.
            page.wait_for_timeout(50)

    def ensure_checked(self, page: Any) -> None:
        """Make sure the document ``page`` shows has been checked (its load event may lag)."""
        self.settle(page)
        if page.url not in self.checked:
            self.check(page)

    def finish(self) -> str:
        """Check the pages as the test left them; the report of all problems, or ``""``."""
        for page in self.pages:
            if page.is_closed():
                continue
            self.settle(page)
            self.check(page)
        if not self.problems:
            return ""
        lines = "\n".join(self.problems.values())
        return (
            "axe-core found serious or critical accessibility problems "
            f"({len(self.problems)}):\n{lines}"
        )


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Iterator[None]:
    """Fail a browser test whose pages axe-core found fault with."""
    result = yield  # a test that failed by itself is reported as it failed
    watch = item.stash.get(AXE_KEY, None)
    if watch is not None:
        report = watch.finish()
        if report:
            raise AssertionError(report)
    return result


def _foreign_origins(request: pytest.FixtureRequest) -> set[str]:
    """Origins of the sandbox wikis and OAuth provider a test uses: not the desk's pages."""
    if "oauth_provider" not in request.fixturenames:
        return set()
    provider = request.getfixturevalue("oauth_provider")
    urls = [provider.url, *(wiki.url for wiki in provider.sandbox.wikis.values())]
    return {f"{urlsplit(u).scheme}://{urlsplit(u).netloc}" for u in urls}


@pytest.fixture(scope="session")
def axe_source() -> str:
    """axe.min.js, as ``make deps`` installed it."""
    if not AXE_JS.is_file():
        pytest.fail(
            f"axe-core is not installed ({AXE_JS} is missing): run `make deps` "
            "(it runs `npm ci --prefix tests/browser`)"
        )
    return AXE_JS.read_text(encoding="utf-8")


@pytest.fixture
def axe_watch(page: Any, request: pytest.FixtureRequest) -> AxeWatch:
    """The axe-core checks of this test's pages (to see what was checked)."""
    return request.node.stash[AXE_KEY]


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """One Chromium for the session."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser: Any, axe_source: str, request: pytest.FixtureRequest) -> Iterator[Any]:
    """A fresh browser context (no cookies) and page; axe-core checks what it shows."""
    context = browser.new_context()
    watch = AxeWatch(axe_source, _foreign_origins(request))
    context.on("page", watch.watch)
    request.node.stash[AXE_KEY] = watch
    page = context.new_page()
    if page not in watch.pages:
        watch.watch(page)
    page.set_default_timeout(20_000)
    yield page
    context.close()
