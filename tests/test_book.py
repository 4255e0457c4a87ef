"""The book as readers get it: built with warnings as errors, then opened in a real browser.

The browser part drives headless Chromium (Debian's ``chromium``, or ``$PURESTATE_CHROMIUM``)
with Playwright. Every request that leaves the local server is blocked, so that no page
waits on the network. Without a Chromium the browser tests are skipped, and say so.
"""

from __future__ import annotations

import functools
import html.parser
import http.server
import os
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import unquote, urljoin, urlsplit

import pytest

from scripts.notebooks import PREDICTION, ROOT, colab_url, notebooks, read

PAGES = notebooks()
CHROMIUM_FLAGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]


@pytest.fixture(scope="module")
def built_html(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("book")
    jupyter_book = Path(sys.executable).parent / "jupyter-book"
    result = subprocess.run(
        [str(jupyter_book), "build", str(ROOT), "--path-output", str(out), "-W", "-n", "--keep-going"],
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    return out / "_build" / "html"


def test_book_builds_without_warnings(built_html: Path) -> None:
    for path in PAGES:
        assert (built_html / path.with_suffix(".html")).exists(), path


# Links and anchors, read from the HTML ------------------------------------------------


class _Anchors(html.parser.HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.ids: set[str] = set()
        self.links: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        for name in ("id", "name"):
            if values.get(name):
                self.ids.add(values[name] or "")
        if tag == "a" and values.get("href"):
            self.links.append(values["href"] or "")


@functools.cache
def _parse(path: Path) -> _Anchors:
    parser = _Anchors()
    parser.feed(path.read_text(encoding="utf-8"))
    return parser


def test_every_internal_link_and_anchor_resolves(built_html: Path) -> None:
    broken = []
    for page in sorted(built_html.rglob("*.html")):
        if "_static" in page.parts or "_sources" in page.parts:
            continue
        for href in _parse(page).links:
            parts = urlsplit(href)
            if parts.scheme or parts.netloc or href.startswith(("mailto:", "javascript:")):
                continue
            target = page if not parts.path else (page.parent / unquote(parts.path)).resolve()
            if target.is_dir():
                target = target / "index.html"
            if not target.exists():
                broken.append(f"{page.relative_to(built_html)}: {href} (no such file)")
            elif parts.fragment and target.suffix == ".html" and unquote(parts.fragment) not in _parse(target).ids:
                broken.append(f"{page.relative_to(built_html)}: {href} (no such anchor)")
    assert not broken, "\n".join(broken[:30])


# In a browser -------------------------------------------------------------------------


def _chromium() -> str | None:
    for candidate in (os.environ.get("PURESTATE_CHROMIUM"), "chromium", "chromium-browser", "google-chrome"):
        if candidate and shutil.which(candidate):
            return shutil.which(candidate)
    return None


@pytest.fixture(scope="module")
def site(built_html: Path) -> Iterator[str]:
    """The built book on a local HTTP server; yields its base URL."""

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(built_html)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    executable = _chromium()
    if executable is None:
        pytest.skip(
            "NO CHROMIUM FOUND: the browser test of the built book did NOT run. Install Debian's "
            "`chromium` (bash .ci/run does) or set PURESTATE_CHROMIUM."
        )
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_FLAGS)
        yield launched
        launched.close()


def _answered_predictions(path: Path) -> int:
    """How many "Predict, then run" prompts are followed by a cell that shows an output."""
    cells = read(path).cells
    return sum(
        prompt.cell_type == "markdown" and PREDICTION in prompt.source and bool(answer.get("outputs"))
        for prompt, answer in zip(cells, cells[1:])
    )


@pytest.mark.parametrize("path", PAGES, ids=str)
def test_page_in_a_browser(path: Path, site: str, browser: object) -> None:
    page = browser.new_page()  # type: ignore[attr-defined]
    errors: list[str] = []
    blocked: list[str] = []
    page.on("pageerror", lambda error: errors.append(f"uncaught: {error}"))
    page.on("console", lambda message: errors.append(f"console: {message.text}") if message.type == "error" else None)

    def local_only(route: object) -> None:
        if route.request.url.startswith(site):  # type: ignore[attr-defined]
            route.continue_()  # type: ignore[attr-defined]
        else:
            blocked.append(route.request.url)  # type: ignore[attr-defined]
            route.abort()  # type: ignore[attr-defined]

    page.route("**/*", local_only)
    url = urljoin(site, path.with_suffix(".html").as_posix())
    try:
        response = page.goto(url, wait_until="load", timeout=30_000)
        assert response is not None and response.ok, f"{url} did not load"

        links = page.eval_on_selector_all("a[href*='colab.research.google.com']", "els => els.map(e => e.href)")
        assert colab_url(path) in links, f"no Colab launch link to {colab_url(path)}: {links}"

        images = page.evaluate(
            "base => Array.from(document.images).filter(i => i.src.startsWith(base))"
            ".map(i => [i.getAttribute('src'), i.complete && i.naturalWidth > 0])",
            site,
        )
        assert all(ok for _, ok in images), f"images that did not load: {[s for s, ok in images if not ok]}"

        toggles = page.locator("details.below-input")
        expected = _answered_predictions(path)
        assert toggles.count() >= expected, (
            f"{expected} predictions, but only {toggles.count()} hidden outputs to open"
        )
        for index in range(toggles.count()):
            toggle = toggles.nth(index)
            toggle.locator("summary").first.click()
            assert toggle.evaluate("d => d.open"), f"hidden output {index} did not open"
        # Each request this test blocked (MathJax from its CDN, say) logs one failed load.
        failed_loads = [e for e in errors if "Failed to load resource" in e]
        assert len(failed_loads) <= len(blocked), f"failed loads beyond the blocked {blocked}: {failed_loads}"
        real = [e for e in errors if "Failed to load resource" not in e]
        assert not real, "JavaScript errors:\n" + "\n".join(real)
    finally:
        page.close()
