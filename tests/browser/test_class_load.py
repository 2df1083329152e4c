"""`make class` under a class's load: 30 HTTP clients each download everything _site/playground.html loads
(about 50 MB), while Chromium pages open the page and draw a picture, all at once, against the server that
`make class` runs (classroom/playground.py --in-browser) on 127.0.0.1. No error, the server's memory stays
flat (its peak RSS is read from /proc), and the time to first picture and the bytes served are printed."""

from __future__ import annotations

import os
import sys
import threading
import time
import urllib.request
from pathlib import Path

import pytest
from conftest import LOCAL, ROOT, VIEWPORT, free_port, shot, start, stop, wait_for_http

SITE = ROOT / "_site"
HTTP_CLIENTS, PAGES = 30, 3
PEAK_RSS_MB = 150            # the server holds no file in memory (sendfile): about 30 MB whatever the load


def page_files() -> list[str]:
    """Every file the playground page loads: the page, its scripts and styles, ONNX Runtime Web, the models."""
    files = ["playground.html", "static/course.css", "static/t2i.css", "static/t2i.js", "static/t2i-ui.js"]
    for folder in ("static/onnxruntime-web", "models"):
        files += sorted(f"{folder}/{p.name}" for p in (SITE / folder).iterdir() if p.is_file())
    return files


def peak_rss_mb(pid: int) -> float:
    """The largest resident memory the process has had (VmHWM), in MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM in /proc: this test reads memory the Linux way")


def download_everything(base: str, files: list[str], errors: list, sizes: list) -> None:
    """One student's browser, without the browser: every file, read to the end."""
    total = 0
    try:
        for name in files:
            with urllib.request.urlopen(f"{base}/{name}", timeout=120) as r:
                expected = int(r.headers["Content-Length"])
                got = 0
                while chunk := r.read(1 << 20):
                    got += len(chunk)
                if got != expected:
                    errors.append(f"{name}: {got} of {expected} bytes")
                total += got
    except Exception as e:                                   # noqa: BLE001  (every failure is a finding)
        errors.append(f"{type(e).__name__}: {e}")
    sizes.append(total)


@pytest.fixture()
def class_server():
    if not (SITE / "playground.html").exists() or not (SITE / "models" / "unet.onnx").exists():
        pytest.fail("_site/playground.html or its models are missing: `make test-browser` builds them (make site)")
    if not Path("/proc/self/status").exists():
        pytest.skip("reads the server's memory from /proc (Linux)")
    port = free_port()
    proc = start([sys.executable, "classroom/playground.py", "--in-browser", f"--port={port}", "--host=127.0.0.1"],
                 ROOT / "build" / "logs" / "class.log")
    try:
        wait_for_http(f"http://127.0.0.1:{port}/no-such-file", 240, proc)   # 240: a stale _site/ is rebuilt first
        yield f"http://127.0.0.1:{port}", proc
    finally:
        stop(proc)


def test_thirty_students_at_once(browser, class_server):
    base, proc = class_server
    files = page_files()
    idle_rss = peak_rss_mb(proc.pid)
    errors, sizes = [], []
    t0 = time.perf_counter()
    clients = [threading.Thread(target=download_everything, args=(base, files, errors, sizes), daemon=True)
               for _ in range(HTTP_CLIENTS)]
    for c in clients:
        c.start()

    contexts, pages, asked = [], [], []
    for _ in range(PAGES):                    # a context each: no shared cache, as on separate laptops
        ctx = browser.new_context(viewport=VIEWPORT, device_scale_factor=1)
        pg = ctx.new_page()
        pg.problems = []
        ctx.route("**/*", lambda r, pg=pg: r.continue_() if r.request.url.startswith(LOCAL)
                  else (pg.problems.append(f"outside: {r.request.url}"), r.abort()))
        pg.on("pageerror", lambda e, pg=pg: pg.problems.append(f"error: {e}"))
        pg.on("response", lambda r, pg=pg: pg.problems.append(f"{r.status} {r.url}") if r.status >= 400 else None)
        pg.on("response", lambda r: asked.append((r.url.removeprefix(base + "/"), int(r.headers.get("content-length", 0))))
              if r.url.startswith(base) else None)
        pg.goto(f"{base}/playground.html", wait_until="commit")
        contexts.append(ctx)
        pages.append(pg)
    firsts = []
    for pg in pages:
        pg.wait_for_selector(".t2i[data-generated='1']", timeout=150_000)
        firsts.append(float(pg.locator(".t2i").get_attribute("data-done-at")))   # since that page opened
    for c in clients:
        c.join(timeout=max(1.0, 170 - (time.perf_counter() - t0)))
    wall = time.perf_counter() - t0
    shot(pages[0], "class-load-first-page")
    for ctx in contexts:
        ctx.close()

    peak = peak_rss_mb(proc.pid)
    served = sum(sizes) + sum(n for _, n in asked)
    load = os.getloadavg()
    print(f"\n{HTTP_CLIENTS} HTTP clients x {len(files)} files ({sum(sizes) / max(1, len(sizes)) / 1e6:.1f} MB each) "
          f"and {PAGES} Chromium pages at once: {served / 1e9:.2f} GB served in {wall:.1f} s "
          f"(load average {load[0]:.1f} on {os.cpu_count()} cores)")
    print("time to first picture in each page: " + ", ".join(f"{s:.1f} s" for s in firsts))
    print(f"server peak RSS {peak:.0f} MB (idle {idle_rss:.0f} MB)")
    assert not any(c.is_alive() for c in clients), "a client was still downloading after 170 s"
    assert errors == [], errors[:5]
    assert len(sizes) == HTTP_CLIENTS and min(sizes) == max(sizes) > 40e6, sizes
    assert [p.problems for p in pages] == [[]] * PAGES
    unlisted = {u for u, _ in asked if u.split("?")[0] not in files}
    assert not unlisted, f"the page loads files the HTTP clients did not: {unlisted}"
    assert peak <= PEAK_RSS_MB, f"the server grew to {peak:.0f} MB"
    assert max(firsts) <= 150
