"""Which slides of the static decks are taller than the screen, or cut code or an equation off at the
right: each deck opened in Chromium at 1366x768 and 1920x1080, every slide shown in turn and measured.

    python classroom/build.py overflow [--only 03 06]     # prints each overflowing slide; exit 1 if any

A deck is a 1280x720 slide that reveal.js scales to the window, so a slide whose content is taller
than 720 CSS px runs off the screen (it scrolls inside itself). tests/browser/test_decks.py uses
`measure()` too."""

from __future__ import annotations

import functools
import http.server
import shutil
import sys
import threading
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SITE = ROOT / "_site"
SIZES = ((1366, 768), (1920, 1080))

# Show each slide (leaf sections, in order), let MathJax finish it, and compare its content's height
# with the slide's. The notes (<aside class="notes">) are not displayed, so they do not count.
MEASURE = """async () => {
  const R = window.Reveal, H = R.getConfig().height, over = [], cut = [];
  const slides = R.getSlides();
  const idle = () => new Promise(r => (window.MathJax && MathJax.Hub) ? MathJax.Hub.Queue(r) : r());
  const frame = () => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)));
  for (let k = 0; k < slides.length; k++) {
    const s = slides[k], at = R.getIndices(s);
    R.slide(at.h, at.v || 0);
    await frame(); await idle(); await frame();
    for (const pre of s.querySelectorAll(".jp-InputArea-editor pre, .jp-RenderedText pre")) {   // code or output cut off
      if (pre.scrollWidth > pre.clientWidth + 2) {
        cut.push({slide: k + 1, h: at.h, v: at.v || 0, line: pre.innerText.split("\\n").find(l => l.length > 60) || ""});
        break;
      }
    }
    // An equation past the right edge by more than a sliver (MathJax breaks a long sum over lines by itself;
    // a matrix or a wide fraction it cannot): any of its boxes ends 12 px (screen) or more beyond the slide's.
    const right = s.getBoundingClientRect().right;
    for (const m of s.querySelectorAll(".MJXc-display, .MathJax_Display, mjx-container")) {
      if ([m, ...m.querySelectorAll("*")].some(e => e.getBoundingClientRect().right > right + 12)) {
        cut.push({slide: k + 1, h: at.h, v: at.v || 0, line: "math: " + m.textContent.slice(0, 60)});
        break;
      }
    }
    if (s.scrollHeight > H + 2) {
      const head = s.querySelector("h1, h2, h3, h4");
      const text = (head ? head.textContent : s.innerText).replace(/\\u00b6/g, "").trim().split("\\n")[0];
      over.push({slide: k + 1, h: at.h, v: at.v || 0, height: s.scrollHeight, heading: text.slice(0, 80)});
    }
  }
  R.slide(0, 0);
  return {total: slides.length, height: H, scale: R.getScale(), over: over, cut: cut};
}"""


def measure(page, url: str) -> dict:
    """Open the deck at `url` in `page` and measure every slide: {total, height, scale, over: [...]}."""
    page.goto(url, wait_until="domcontentloaded", timeout=180_000)     # a busy machine takes its time
    page.wait_for_selector(".reveal.ready", timeout=180_000)
    page.wait_for_load_state("load", timeout=180_000)                  # images and the widgets' scripts
    return page.evaluate(MEASURE)


def serve(site: Path):
    """`site` on a free port of 127.0.0.1 in a thread; returns (base url, server)."""
    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(site)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return f"http://127.0.0.1:{server.server_address[1]}", server


def main(only: list[str] | None = None, site: Path = SITE) -> int:
    """Print, per lesson and screen size, the slides taller than the screen; 1 if there are any."""
    from playwright.sync_api import sync_playwright

    decks = sorted((site / "slides").glob("*.slides.html"))
    decks = [d for d in decks if not only or d.name[:2] in only or d.name.removesuffix(".slides.html") in only]
    if not decks:
        sys.exit(f"no decks in {site / 'slides'}{' for ' + ' '.join(only) if only else ''}: "
                 "run `python classroom/build.py slides` first")
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if not chromium:
        sys.exit("Chromium not found: apt-get install chromium (or `make chromium`)")
    url, server = serve(site)
    found = 0
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=chromium, args=["--no-sandbox", "--disable-gpu"])
            for w, h in SIZES:
                page = browser.new_page(viewport={"width": w, "height": h})
                for deck in decks:
                    r = measure(page, f"{url}/slides/{deck.name}")
                    found += len(r["over"]) + len(r["cut"])
                    print(f"{deck.name.removesuffix('.slides.html')} at {w}x{h}: {len(r['over'])} of {r['total']} "
                          f"slides taller than the screen, {len(r['cut'])} with code or an equation cut off at the right")
                    for c in r["cut"]:
                        print(f"  slide {c['slide']} (#/{c['h']}/{c['v']}): cut off at the right, {c['line'][:70]!r}")
                    for o in r["over"]:
                        print(f"  slide {o['slide']} (#/{o['h']}/{o['v']}): {o['height'] / r['height']:.2f} screens, "
                              f"{o['heading']!r}")
                page.close()
            browser.close()
    finally:
        server.shutdown()
    return 1 if found else 0
