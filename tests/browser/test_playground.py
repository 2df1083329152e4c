"""`make playground`: the code-free page a class uses, served by Voilà on 127.0.0.1."""

import os
import sys
import time

from conftest import shot

PROMPT = "a small blue circle in the bottom left"


def test_playground_generates_from_a_typed_prompt(page, playground):
    url, started = playground
    page.goto(url)
    prompt = page.get_by_role("textbox").first
    prompt.wait_for(timeout=60_000)
    page.locator("img.widget-image").first.wait_for(timeout=60_000)
    first_image = time.perf_counter() - started
    print(f"first image {first_image:.1f} s after the server was started")
    shot(page, "playground-01-first-image")
    # The target is 15 s on a machine that serves the class; one that is busy with other work (a
    # training run using the cores) gets twice that, and says so.
    load, cores = os.getloadavg()[0], os.cpu_count()
    limit = 15 if load < cores else 30
    print(f"load average {load:.1f} on {cores} cores: limit {limit} s")
    assert first_image < limit, f"the first image took {first_image:.1f} s (target: {limit} s)"
    assert page.get_by_text("classroom_playground").count() == 0          # no code on the page

    image = page.locator("img.widget-image").first
    before = image.get_attribute("src")
    prompt.fill(PROMPT)
    prompt.press("Enter")
    page.wait_for_function("([el, old]) => el.getAttribute('src') !== old", arg=[image.element_handle(), before],
                           timeout=20_000)
    label = page.locator(".widget-html-content").filter(has_text="steps in").first
    label.wait_for()
    seconds = float(label.inner_text().split(" in ")[1].split(" s")[0])
    print(f"generation: {label.inner_text()!r}")
    assert seconds < 1.5, f"a generation took {seconds} s"
    box = image.bounding_box()
    assert box["width"] >= 384 and abs(box["width"] - box["height"]) < 2, box   # large, square, not stretched
    assert box["y"] + box["height"] <= 768, "the image does not fit the 1366x768 window"
    shot(page, "playground-02-typed-prompt")

    page.get_by_role("tab", name="Noising (lesson 03)").click()
    slider = page.locator(".noUi-handle:visible").first
    slider.wait_for()
    noisy_before = page.locator("img.widget-image:visible").first.get_attribute("src")
    slider.focus()
    for _ in range(10):
        page.keyboard.press("PageUp")
    page.wait_for_function("old => [...document.querySelectorAll('img.widget-image')].some("
                           "i => i.offsetParent && i.getAttribute('src') !== old)", arg=noisy_before)
    shot(page, "playground-03-noising")

    page.get_by_role("tab", name="The VAE (lesson 05)").click()
    page.locator("img.widget-image:visible").first.wait_for()
    page.wait_for_timeout(300)
    shot(page, "playground-04-vae")

    page.get_by_role("tab", name="Teal (lesson 08)").click()                # loads the adapter, then draws
    page.get_by_text("the reader sees").wait_for(timeout=120_000)
    page.locator("img.widget-image:visible").first.wait_for()
    shot(page, "playground-05-teal")
    assert page.outside == [], page.outside


def test_the_fast_switch_draws_with_lcm_and_back(page, playground):
    """Issue 29: the text-to-image tab's "fast (4 steps)" switch, off at first, loads lcm-shapes when switched
    on and draws with it (4 steps, the guidance and steps sliders resting); off, the taught model again."""
    url, _ = playground
    page.goto(url, wait_until="commit", timeout=180_000)
    image = page.locator("img.widget-image").first
    image.wait_for(timeout=180_000)
    switch = page.get_by_role("button", name="fast (4 steps)")
    switch.wait_for()
    assert "lcm-shapes" in (switch.get_attribute("title") or ""), "the switch does not say what it is"
    page.get_by_text("distilled LoRA adapter, 4 LCM steps, no guidance").wait_for()
    label = page.locator(".widget-html-content").filter(has_text="steps in").first
    label.wait_for()
    assert label.inner_text().startswith("DDIM, 25 steps in")
    shot(page, "playground-07-fast-off")

    before = image.get_attribute("src")
    switch.click()                                          # loads the adapter the first time, then draws
    page.wait_for_function("([el, old]) => el.getAttribute('src') !== old", arg=[image.element_handle(), before],
                           timeout=120_000)
    page.get_by_text("fast: LCM, 4 steps in").wait_for(timeout=60_000)
    resting = ".widget-slider .slider[disabled='true'], select:disabled"
    assert page.locator(resting).count() == 3, "guidance, steps and scheduler should rest while fast is on"
    box = image.bounding_box()
    assert box["width"] >= 384 and box["y"] + box["height"] <= 768, box
    print(f"fast: {page.get_by_text('fast: LCM, 4 steps in').inner_text()!r}")
    shot(page, "playground-08-fast-on")

    fast_src = image.get_attribute("src")
    switch.click()
    page.wait_for_function("([el, old]) => el.getAttribute('src') !== old", arg=[image.element_handle(), fast_src],
                           timeout=60_000)
    page.locator(".widget-html-content").filter(has_text="DDIM, 25 steps in").first.wait_for(timeout=60_000)
    assert page.locator(resting).count() == 0
    assert page.outside == [] and page.errors == [], page.outside + page.errors


def test_a_closed_tab_leaves_no_kernel_running(browser):
    """Voilà gives each visitor a kernel (~0.8 GB); once the tab is gone and it is idle, it is shut down."""
    from conftest import ROOT, free_port, start, stop, wait_for_http

    port, log = free_port(), ROOT / "build" / "logs" / "playground-cull.log"
    proc = start([sys.executable, "classroom/playground.py", f"--port={port}", "--cull-after=4", "--cull-interval=2"], log)
    try:
        wait_for_http(f"http://127.0.0.1:{port}/voila/static/no-such-file", 120, proc)
        context = browser.new_context()
        page = context.new_page()
        page.goto(f"http://127.0.0.1:{port}/")
        page.locator("img.widget-image").first.wait_for(timeout=60_000)
        context.close()                                                   # the tab goes away
        deadline = time.time() + 60
        while time.time() < deadline and "Kernel shutdown" not in log.read_text():
            time.sleep(1)
        assert "Kernel shutdown" in log.read_text(), "the kernel of a closed tab is still running"
    finally:
        stop(proc)


def test_the_page_loads_only_what_it_needs_no_console_error(page, playground):
    """Voilà loads JupyterLab's extensions into its page too; the slideshow and font extensions have no
    place there and logged errors (issue 30). The page must log no error and still draw its widgets
    (an allow-list without Voilà's own widget manager once left it with none)."""
    url, _ = playground
    console = []
    page.on("console", lambda m: console.append(f"{m.type}: {m.text}") if m.type == "error" else None)
    page.on("console", lambda m: print(f"console {m.type}: {m.text[:300]}") if m.type == "error" else None)
    page.goto(url, wait_until="commit", timeout=180_000)                  # Voilà runs the notebook first
    page.get_by_role("textbox").first.wait_for(timeout=180_000)           # the widgets are drawn ...
    page.locator("img.widget-image").first.wait_for(timeout=180_000)       # ... the first picture too
    page.get_by_role("tab", name="Noising (lesson 03)").click()            # a second tab renders its widgets
    page.locator(".noUi-handle:visible").first.wait_for()
    page.wait_for_timeout(2000)                                            # late errors (extensions load async)
    shot(page, "playground-06-no-console-error")
    assert console == [] and page.errors == [], console + page.errors
    assert page.outside == [], page.outside
