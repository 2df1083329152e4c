"""The static decks in front of a room (`make slides`): readable sizes at 1366x768 and 1920x1080, no slide
taller than the screen, no exercise solution anywhere under _site/, and the speaker notes in reveal.js's
speaker view (key S), served and from the disk."""

from __future__ import annotations

import functools
import html
import http.server
import importlib
import json
import os
import re
import sys
import threading

import nbformat
import pytest
from conftest import ROOT, shot

sys.path[:0] = [str(ROOT / "classroom"), str(ROOT / "tests")]
build = importlib.import_module("build")
overflow = importlib.import_module("overflow")

LESSONS = [p.stem for p in build.lessons()]
SIZES = [f"{w}x{h}" for w, h in overflow.SIZES]


def sized(page, size: str):
    w, h = map(int, size.split("x"))
    page.set_viewport_size({"width": w, "height": h})
    return w, h


# Issue 30 asks for no slide taller than the screen. Not there yet: each lesson may hold at most the number of
# tall slides measured when this baseline was written (a reveal slide is 1280x720 scaled to the screen, so the
# count is the same at both sizes). The numbers only go down: lower them as lessons are split; 0 is the target.
TALL_SLIDES_AT_MOST = json.loads((ROOT / "tests" / "browser" / "tall_slides_baseline.json").read_text())["at_most"]


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("name", LESSONS)
def test_no_slide_is_taller_than_the_screen(page, site_url, name, size):
    """`python classroom/build.py overflow --only NN` prints the same list, to split what it names."""
    sized(page, size)
    r = overflow.measure(page, f"{site_url}/slides/{name}.slides.html")
    assert r["total"] > 3 and r["height"] == 720
    listing = "; ".join(f"slide {o['slide']} ({o['height'] / r['height']:.2f} screens) {o['heading']!r}" for o in r["over"])
    print(f"{name} at {size}: {len(r['over'])} of {r['total']} slides taller than the screen: {listing}")
    allowed = TALL_SLIDES_AT_MOST[name]
    assert len(r["over"]) <= allowed, (f"{name} at {size}: {len(r['over'])} of {r['total']} slides taller than the "
                                       f"screen, more than the {allowed} of tests/browser/tall_slides_baseline.json: {listing}")
    assert r["cut"] == [], f"{name} at {size}: code or an equation cut off at the right: {r['cut']}"


WIDE_EQUATION = """() => new Promise(done => {
  const slide = Reveal.getSlides()[0], div = document.createElement('div');
  div.textContent = '$$\\\\begin{matrix}' + Array.from({length: 40}, (_, i) => 'x_{' + i + '}').join(' & ') + '\\\\end{matrix}$$';
  slide.appendChild(div);
  MathJax.Hub.Queue(['Typeset', MathJax.Hub, div], done);
})"""


def test_the_lister_sees_an_equation_cut_off_at_the_right(page, site_url):
    """Negative control of the `cut` list above: lesson 03's equations fit; a display equation wider than the
    slide, put into its first slide, is listed (stop 38 saw such an equation by eye, which the lister missed).
    MathJax breaks a long sum over lines by itself here, so the wide one is a matrix, which it cannot break."""
    sized(page, "1366x768")
    page.goto(f"{site_url}/slides/03_diffusion.slides.html", wait_until="domcontentloaded", timeout=180_000)
    page.wait_for_selector(".reveal.ready", timeout=180_000)
    assert page.evaluate(overflow.MEASURE)["cut"] == []        # the lesson's own equations fit
    page.evaluate(WIDE_EQUATION)
    after = page.evaluate(overflow.MEASURE)
    assert [c["line"][:6] for c in after["cut"] if c["slide"] == 1] == ["math: "], after["cut"]


SIZES_JS = """() => {
  const s = Reveal.getScale(), slide = Reveal.getCurrentSlide();
  const prose = slide.querySelector('.jp-RenderedMarkdown p, .jp-RenderedMarkdown li');
  const code = slide.querySelector('.jp-InputArea-editor pre, .jp-CodeMirrorEditor pre, .highlight pre');
  const px = el => el ? parseFloat(getComputedStyle(el).fontSize) * s : 0;
  return {scale: s, prose: px(prose), code: px(code), reveal: document.querySelector('.reveal').getBoundingClientRect().width};
}"""


@pytest.mark.parametrize("size", SIZES)
def test_presenter_theme_is_readable_and_scales_with_the_screen(page, site_url, size):
    w, h = sized(page, size)
    page.goto(f"{site_url}/slides/06_stable_diffusion.slides.html", wait_until="domcontentloaded", timeout=180_000)
    page.wait_for_selector(".reveal.ready", timeout=180_000)
    assert page.title() == f"{build.title('06_stable_diffusion')} · slides"
    for i in range(1, 12):                        # the first slide with both prose and code
        page.goto(f"{site_url}/slides/06_stable_diffusion.slides.html#/{i}")
        page.wait_for_timeout(300)
        m = page.evaluate(SIZES_JS)
        if m["prose"] and m["code"]:
            break
    want = min(w / 1366, h / 768)                # 1 at 1366x768, about 1.4 at 1920x1080
    print(f"06 at {size}: scale {m['scale']:.3f}, prose {m['prose']:.1f} px, code {m['code']:.1f} px on screen")
    assert abs(m["prose"] - 24 * want) < 1.2 and abs(m["code"] - 20 * want) < 1.2, m
    assert m["reveal"] >= w - 1, f"the deck is a {m['reveal']:.0f}-px column in a {w}-px window"
    shot(page, f"deck-06-theme-{size}")
    assert page.outside == [] and page.errors == [] and page.failed == []


def _plain(line: str) -> str:
    """A line of code as a reader sees it: no indentation, trailing comment or semicolon."""
    return re.sub(r"\s+#.*$", "", line).strip().rstrip(";").strip()


def solution_lines(name: str) -> list[str]:
    """Lines only a solution cell of a lesson has (not its magic or comments, not short, in no other cell:
    the exercise's own cell often calls the same checker; nor in course_utils, whose source a lesson prints)."""
    cells = nbformat.read(ROOT / "notebooks" / f"{name}.ipynb", 4).cells
    elsewhere = {_plain(ln) for c in cells if "solution" not in c.metadata.get("tags", []) for ln in c.source.splitlines()}
    elsewhere |= {_plain(ln) for f in (ROOT / "course_utils").rglob("*.py") for ln in f.read_text().splitlines()}
    out = []
    for cell in cells:
        if "solution" in cell.metadata.get("tags", []):
            out += [_plain(ln) for ln in cell.source.splitlines() if len(_plain(ln)) > 20
                    and not ln.strip().startswith(("%%", "#")) and _plain(ln) not in elsewhere][:3]
    return out


@pytest.mark.parametrize("name", LESSONS)
def test_no_solution_reaches_the_site_or_the_public_deck(name):
    lines = solution_lines(name)
    assert lines, f"{name}: no solution cells found (tag 'solution')"
    for path in (ROOT / "_site" / "lessons" / f"{name}.html", ROOT / "_site" / "slides" / f"{name}.slides.html"):
        text = html.unescape(re.sub(r"<[^>]+>", "", path.read_text(encoding="utf-8")))
        page = {_plain(ln) for ln in text.splitlines()}
        shown = [ln for ln in lines if ln in page]
        assert not shown, f"{path.relative_to(ROOT)} shows solution code: {shown[:2]}"


def notes_deck(tmp_path):
    """A small deck with speaker notes, built by build.py into tmp_path/slides/ next to _site's static/."""
    from test_build import lesson_like

    (tmp_path / "slides").mkdir()
    os.symlink(ROOT / "_site" / "static", tmp_path / "static")
    path = tmp_path / "slides" / "notes.slides.html"
    path.write_text(build.export(lesson_like(), "slides", 1, build.nav(None, [], 1, slides=True)), encoding="utf-8")
    return path


def speaker_view_notes(page, url: str) -> str:
    """Open `url`, press S, and return the text of the speaker view's notes."""
    page.goto(url, wait_until="domcontentloaded", timeout=180_000)     # a busy machine takes its time
    page.wait_for_selector(".reveal.ready", timeout=180_000)
    with page.context.expect_page(timeout=30_000) as popup:
        page.keyboard.press("s")
    view = popup.value
    view.wait_for_function("() => { const v = document.querySelector('.speaker-controls-notes .value');"
                           " return v && v.innerText.trim().length > 0; }", timeout=30_000)
    text = view.inner_text(".speaker-controls-notes .value")
    view.close()
    return text


def test_speaker_view_shows_the_notes_served_and_from_the_disk(page, tmp_path):
    deck = notes_deck(tmp_path)
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(tmp_path))
    handler.func.log_message = lambda *a: None
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        served = speaker_view_notes(page, f"http://127.0.0.1:{server.server_address[1]}/slides/{deck.name}#/0")
    finally:
        server.shutdown()
    assert "about 7 min" in served and "noise is the whole story" in served
    from_disk = speaker_view_notes(page, deck.as_uri() + "#/1")          # the next slide's notes
    assert "about 50 min" in from_disk and "wrap up" in from_disk
    assert page.outside == [] and page.errors == []


def first_notes_slide(name: str) -> int | None:
    """The index (h) of the first horizontal slide of a built deck with speaker notes, or None."""
    text = (ROOT / "_site" / "slides" / f"{name}.slides.html").read_text(encoding="utf-8")
    body = text[text.index('<div class="slides">'):]
    depth, h = 0, -1
    for m in re.finditer(r'<section|</section>|<aside class="notes">', body):
        tag = m.group(0)
        if tag == "<section":
            depth += 1
            h += depth == 1
        elif tag == "</section>":
            depth -= 1
        else:
            return h
    return None


@pytest.mark.parametrize("name", ["03_diffusion", "06_stable_diffusion"])
def test_a_lesson_deck_shows_its_notes_in_the_speaker_view(page, site_url, name):
    h = first_notes_slide(name)
    if h is None:
        pytest.fail(f"{name}: the built deck has no speaker notes (rebuild: python classroom/build.py slides --only {name[:2]})")
    text = speaker_view_notes(page, f"{site_url}/slides/{name}.slides.html#/{h}")
    assert "Speaker notes" in text and "min" in text, text[:200]
