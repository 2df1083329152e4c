"""The static course site and the reveal.js decks (`make site`), opened offline in Chromium."""

import re
from pathlib import Path

from conftest import ROOT, shot

LESSONS = sorted(p.stem for p in (ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))


def test_home_page_lists_every_lesson_with_its_slides(page, site_url):
    page.goto(f"{site_url}/index.html")
    page.wait_for_load_state("networkidle")
    for name in LESSONS:
        assert page.locator(f'a[href="lessons/{name}.html"]').count() == 1, name
        assert page.locator(f'a[href="slides/{name}.slides.html"]').count() == 1, name
        assert page.locator(f'a[href="plans/{name}.html"]').count() == 1, name
    shot(page, "site-01-home")
    page.locator('a[href="lessons/03_diffusion.html"]').first.click()
    page.wait_for_load_state("networkidle")
    assert "03" in page.title() and page.locator(".course-nav-top .course-next").count() == 1
    page.locator(".course-nav-top .course-plan").click()                 # the lesson's teaching plan
    page.wait_for_load_state("networkidle")
    assert page.url.endswith("/plans/03_diffusion.html") and "Teaching plan: 03" in page.locator("h1").first.inner_text()
    assert page.outside == [] and page.errors == [] and page.failed == []


def test_every_lesson_has_a_teaching_plan_with_its_total(page, site_url):
    for name in LESSONS:
        page.goto(f"{site_url}/plans/{name}.html")
        text = page.locator("body").inner_text()
        assert "Teaching plan" in text and ("Total:" in text or "no speaker notes yet" in text), name
        if "Total:" in text:
            assert page.locator("table tr").count() >= 2, name
    shot(page, "site-04-plan")
    assert page.outside == [] and page.errors == [] and page.failed == []


def test_every_lesson_page_renders_its_figures_and_maths(page, site_url):
    for name in LESSONS:
        page.goto(f"{site_url}/lessons/{name}.html")
        page.wait_for_load_state("networkidle")
        images = page.locator(".jp-RenderedImage img")
        assert images.count() > 0, f"{name}: no figures"
        broken = page.evaluate("() => [...document.images].filter(i => i.complete && i.naturalWidth === 0).length")
        assert broken == 0, f"{name}: {broken} images did not load"
        page.wait_for_function("() => window.MathJax && MathJax.Hub && MathJax.Hub.queue.running === 0 "
                               "&& MathJax.Hub.queue.pending === 0", timeout=60_000)
        assert page.locator(".jp-Cell").count() > 10
    page.goto(f"{site_url}/lessons/06_stable_diffusion.html")
    page.wait_for_load_state("networkidle")
    shot(page, "site-02-lesson06-top")
    page.locator(".jp-Cell").filter(has_text=re.compile(r"\d+\. The playground")).first.scroll_into_view_if_needed()
    page.wait_for_timeout(500)
    shot(page, "site-03-lesson06-playground")
    assert page.outside == [] and page.errors == [] and page.failed == []


def test_site_opens_from_the_disk(page):
    page.goto((ROOT / "_site" / "lessons" / "05_vae.html").as_uri())
    page.wait_for_load_state("networkidle")
    assert page.locator(".jp-RenderedImage img").count() > 0
    page.locator(".course-nav-top .course-home").click()
    page.wait_for_load_state("networkidle")
    assert Path(page.url).name == "index.html"
    assert page.outside == [] and page.errors == [] and page.failed == []


def test_every_deck_initialises_reveal_and_pages(page, site_url):
    for name in LESSONS:
        page.goto(f"{site_url}/slides/{name}.slides.html")
        page.wait_for_selector(".reveal.ready", timeout=30_000)          # reveal.js initialised
        total = page.locator(".reveal .slides > section").count()
        assert total > 3, f"{name}: only {total} slides"
        page.keyboard.press("ArrowRight")
        page.wait_for_function("() => location.hash.length > 1")
        if name in ("03_diffusion", "06_stable_diffusion"):
            page.goto(f"{site_url}/slides/{name}.slides.html#/0")
            page.wait_for_selector(".reveal.ready")
            shot(page, f"slides-{name[:2]}-01-title")
            for i in (2, 5, 9):
                page.goto(f"{site_url}/slides/{name}.slides.html#/{i}")
                page.wait_for_timeout(800)
                shot(page, f"slides-{name[:2]}-{i:02d}")
    assert page.outside == [] and page.errors == [] and page.failed == []
