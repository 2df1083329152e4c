"""Fixtures for the browser tests: the system Chromium through Playwright, local servers, screenshots.

Run by `make test-browser` (never by `make test`: tests/conftest.py leaves this folder out unless
COURSE_BROWSER_TESTS=1). Every page is opened in a 1366x768 window; every request that would leave
127.0.0.1 / file:// is blocked and recorded, and the tests assert there were none."""

from __future__ import annotations

import functools
import http.server
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def lab_overflow():
    """classroom/lab/overflow.py (the live slideshow's launcher and lister) as its own module, `lab_overflow`:
    classroom/overflow.py (the static decks' lister) is also named overflow, and whichever test imports
    first would otherwise shadow the other."""
    import importlib.util

    if "lab_overflow" not in sys.modules:
        spec = importlib.util.spec_from_file_location("lab_overflow", ROOT / "classroom" / "lab" / "overflow.py")
        module = importlib.util.module_from_spec(spec)
        sys.modules["lab_overflow"] = module
        spec.loader.exec_module(module)
    return sys.modules["lab_overflow"]
SHOTS = ROOT / "build" / "screenshots"
VIEWPORT = {"width": 1366, "height": 768}
LOCAL = ("http://127.0.0.1", "ws://127.0.0.1", "http://localhost", "ws://localhost", "file://", "data:",
         "blob:", "about:", "chrome-error:")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run", "--disable-sync", "--disable-extensions",
                 "--disable-default-apps", "--metrics-recording-only", "--no-default-browser-check"]


def chromium_path() -> str:
    path = os.environ.get("CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
    if not path:
        pytest.exit("no system Chromium: `make test-browser` installs it (apt-get install -y chromium)", 2)
    return path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_http(url: str, timeout: float, proc: subprocess.Popen | None = None) -> float:
    """Poll `url` until it answers; returns the seconds waited."""
    t0 = time.perf_counter()
    while time.perf_counter() - t0 < timeout:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"the server exited with code {proc.returncode}")
        try:
            urllib.request.urlopen(url, timeout=2)
            return time.perf_counter() - t0
        except urllib.error.HTTPError:                  # an answer, even a 404, means it is up
            return time.perf_counter() - t0
        except Exception:
            time.sleep(0.25)
    raise TimeoutError(f"{url} did not answer within {timeout} s")


def shot(page, name: str, full_page: bool = False) -> Path:
    """A screenshot of the page as a person sees it, under build/screenshots/."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    path = SHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=full_page)
    return path


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS, headless=True)
        yield b
        b.close()


@pytest.fixture()
def page(browser):
    """A fresh 1366x768 page; `page.outside` lists blocked requests, `page.errors` uncaught JS errors,
    `page.failed` local requests that failed (a file missing from the site)."""
    context = browser.new_context(viewport=VIEWPORT, device_scale_factor=1)
    pg = context.new_page()
    pg.outside, pg.errors = [], []

    def route(r):
        if r.request.url.startswith(LOCAL):
            r.continue_()
        else:
            pg.outside.append(r.request.url)
            r.abort()

    context.route("**/*", route)
    pg.on("pageerror", lambda e: pg.errors.append(str(e)))
    pg.failed = []                                       # local files that were asked for but are missing
    pg.on("requestfailed", lambda r: pg.failed.append(r.url) if r.url.startswith("file://")
          and r.failure != "net::ERR_ABORTED" else None)          # aborted = left the page before it came
    pg.on("response", lambda r: pg.failed.append(f"{r.status} {r.url}") if r.status >= 400 else None)
    pg.on("websocket", lambda ws: None if ws.url.startswith(LOCAL) else pg.outside.append(ws.url))
    yield pg
    context.close()


@pytest.fixture(scope="session")
def site_url():
    """_site/ (built by `make site`) served by Python's http.server on 127.0.0.1."""
    site = ROOT / "_site"
    if not (site / "index.html").exists():
        pytest.fail("_site/index.html is missing: `make test-browser` builds it first (make site)")
    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    handler = functools.partial(Quiet, directory=str(site))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", free_port()), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def start(cmd: list[str], log: Path, env: dict | None = None) -> subprocess.Popen:
    """Start a server in its own process group (so stopping it stops its kernels too)."""
    log.parent.mkdir(parents=True, exist_ok=True)
    e = os.environ | {"HF_HUB_OFFLINE": "1", "PYTHONUNBUFFERED": "1"} | (env or {})
    return subprocess.Popen(cmd, cwd=ROOT, env=e, stdout=log.open("w"), stderr=subprocess.STDOUT,
                            start_new_session=True)


def stop(proc: subprocess.Popen) -> None:
    """Stop a server that `start` started, and its kernels (classroom/lab/overflow.py's stop)."""
    lab_overflow().stop(proc)


@pytest.fixture(scope="session")
def playground():
    """`classroom/playground.py` (what `make playground` runs) on a free port; yields (url, seconds to answer)."""
    port = free_port()
    t0 = time.perf_counter()
    proc = start([sys.executable, "classroom/playground.py", f"--port={port}", "--cull-after=120"],
                 ROOT / "build" / "logs" / "playground.log")
    try:
        wait_for_http(f"http://127.0.0.1:{port}/voila/static/no-such-file", 120, proc)  # "/" would start a kernel
        yield f"http://127.0.0.1:{port}/", t0
    finally:
        stop(proc)


@pytest.fixture(scope="session")
def lab(tmp_path_factory):
    """JupyterLab on a free port, with fresh user settings (no news pop-up) and the app exposed to tests."""
    port, token = free_port(), "classroom-test"
    home = tmp_path_factory.mktemp("lab")
    settings = home / "settings"
    (settings / "@jupyterlab" / "apputils-extension").mkdir(parents=True)
    (settings / "@jupyterlab" / "apputils-extension" / "notification.jupyterlab-settings").write_text(
        '{"fetchNews": "false", "checkForUpdates": false}')
    (settings / "@jupyterlab" / "docmanager-extension").mkdir(parents=True)
    (settings / "@jupyterlab" / "docmanager-extension" / "plugin.jupyterlab-settings").write_text('{"autosave": false}')
    course = home / "course"                   # a copy: nothing the test runs is ever saved into notebooks/
    shutil.copytree(ROOT / "notebooks", course / "notebooks", ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
    proc = start([sys.executable, "-m", "jupyterlab", "--no-browser", f"--port={port}", "--ServerApp.ip=127.0.0.1",
                  f"--IdentityProvider.token={token}", "--allow-root", "--expose-app-in-browser",
                  f"--ServerApp.root_dir={course}", "--LabApp.news_url=", "--LabApp.check_for_updates_class="
                  "jupyterlab.NeverCheckForUpdate"],
                 ROOT / "build" / "logs" / "lab.log",
                 env={"JUPYTERLAB_SETTINGS_DIR": str(settings), "JUPYTERLAB_WORKSPACES_DIR": str(home / "ws"),
                      "COURSE_FAST": os.environ.get("COURSE_FAST", "1"), "OMP_NUM_THREADS": "1"})
    try:
        wait_for_http(f"http://127.0.0.1:{port}/api/status?token={token}", 120, proc)
        yield f"http://127.0.0.1:{port}", token
    finally:
        stop(proc)
