"""_site/playground.html: the course's model run by ONNX Runtime Web in Chromium, against the Python pipeline."""

import base64
import os
import sys

import numpy as np
from conftest import ROOT, shot

PROMPT, SEED, GUIDANCE, STEPS = "a small blue circle in the bottom left", 7, 5.0, 25


def limit(target: float) -> float:
    """The target on a machine that serves the class; twice that on one busy with other work (it says so)."""
    load, cores = os.getloadavg()[0], os.cpu_count()
    print(f"load average {load:.1f} on {cores} cores")
    return target if load < cores else 2 * target


def pixels(page) -> np.ndarray:
    """The 64x64 RGB bytes the page drew (t2i-ui.js keeps them on the canvas)."""
    raw = base64.b64decode(page.locator(".t2i-image").get_attribute("data-pixels"))
    return np.frombuffer(raw, np.uint8).reshape(64, 64, 4)[..., :3].astype(float)


def python_picture(prompt: str, seed: int) -> np.ndarray:
    from course_utils import web
    from course_utils.pipelines import load_text_to_image

    pipe = load_text_to_image(device="cpu")
    x = pipe(prompt, latents=web.noise(seed), guidance_scale=GUIDANCE, num_inference_steps=STEPS, output_type="np")
    return np.round(x.images[0] * 255)


def test_the_page_draws_what_python_draws(page, site_url):
    sizes = {}
    page.on("response", lambda r: sizes.__setitem__(r.url, int(r.headers.get("content-length", 0))))
    page.goto(f"{site_url}/playground.html")
    page.wait_for_selector(".t2i[data-generated='1']", timeout=60_000)
    first = float(page.locator(".t2i").get_attribute("data-done-at"))   # since the page started loading
    total = sum(sizes.values()) / 1e6
    print(f"first image {first:.1f} s after the page opened, download included; the page loaded {total:.1f} MB "
          f"(models {sum(v for k, v in sizes.items() if '/models/' in k) / 1e6:.1f} MB)")
    assert first <= limit(10), f"the first image took {first:.1f} s"
    assert total <= 60, f"the page loaded {total:.1f} MB"
    shot(page, "web-01-first-image")

    page.locator(".t2i-seed").fill(str(SEED))
    prompt = page.locator(".t2i-prompt")
    prompt.fill(PROMPT)
    prompt.press("Enter")                                                 # typing and Enter: a new image
    page.wait_for_selector(".t2i[data-generated='2']", timeout=30_000)
    seconds = float(page.locator(".t2i").get_attribute("data-seconds"))
    print(f"one 64x64 image, {STEPS} steps with guidance: {seconds:.2f} s in the page")
    assert page.locator(".t2i-status").inner_text() == f"{STEPS} steps in {seconds:.2f} s"
    assert seconds <= limit(2.0), f"an image took {seconds:.2f} s"
    assert page.locator(".t2i-strip canvas").count() == 6
    shot(page, "web-02-typed-prompt")

    browser_image, python_image = pixels(page), python_picture(PROMPT, SEED)
    mad = np.abs(browser_image - python_image).mean()
    print(f"mean absolute pixel difference from load_text_to_image(): {mad:.3f} / 255")
    assert mad <= 2.0, mad
    assert np.abs(browser_image - python_picture(PROMPT, SEED + 1)).mean() > 2.0   # the comparison can fail
    assert page.outside == [] and page.errors == [] and page.failed == [], (page.outside, page.errors, page.failed)


def test_the_tokenizer_noise_and_ddim_agree_in_chromium(page, site_url):
    """tests/test_web_js.py's checks, in the browser (where Node is missing they run only here): the
    tokenizer's ids, the noise, the DDIM timesteps and step."""
    sys.path.insert(0, str(ROOT / "tests"))
    from test_web_js import prompts

    from course_utils import web
    from course_utils.text import load_text_encoder

    page.goto(f"{site_url}/playground.html")
    page.wait_for_function("() => window.CourseT2I && window.CourseT2I.tokenize")
    ps = prompts()
    got = page.evaluate("""async (ps) => {
        const cfg = await (await fetch('models/config.json')).json();
        const vocab = new Map((await (await fetch('models/vocab.txt')).text()).split('\\n').map((t, i) => [t, i]));
        return {ids: ps.map(p => CourseT2I.tokenize(p, vocab, cfg).ids), noise: Array.from(CourseT2I.noise(3, 256))};
    }""", ps)
    tokenizer = load_text_encoder()[0]
    want = tokenizer(ps, padding="max_length", max_length=32, truncation=True).input_ids
    wrong = [p for p, g, w in zip(ps, got["ids"], want) if g != w]
    print(f"tokenizer: {len(ps) - len(wrong)} of {len(ps)} prompts give the Python tokenizer's ids")
    assert len(ps) >= 1000 and not wrong, wrong[:5]
    assert np.allclose(got["noise"], web.noise(3).flatten().numpy(), atol=1e-6)

    import torch

    from course_utils.diffusion import ddim_step
    from course_utils.pipelines import load_text_to_image

    pipe = load_text_to_image(device="cpu")
    x, pred = torch.randn(2, 256, generator=torch.Generator().manual_seed(0))
    step = page.evaluate("""async ([x, pred]) => {
        const cfg = await (await fetch('models/config.json')).json();
        return {ts: CourseT2I.timesteps(cfg, 25), x: Array.from(CourseT2I.ddimStep(pred, 999, 959, x, cfg))};
    }""", [x.tolist(), pred.tolist()])
    from diffusers import DDIMScheduler

    scheduler = DDIMScheduler.from_config(pipe.scheduler.config)      # a copy: the cached pipeline is left alone
    scheduler.set_timesteps(25)
    assert step["ts"] == scheduler.timesteps.tolist()
    want = ddim_step(pred[None], 999, 959, x[None], pipe.scheduler.alphas_cumprod, prediction_type="v_prediction",
                     set_alpha_to_one=False)[0][0]
    assert np.allclose(step["x"], want.numpy(), atol=1e-5)


def test_from_the_disk_the_page_says_how_to_serve_it(page):
    page.goto((ROOT / "_site" / "playground.html").as_uri())
    status = page.locator(".t2i-status")
    status.wait_for()
    assert "python -m http.server -d _site" in status.inner_text()
    shot(page, "web-03-from-disk")
    assert page.outside == []


def test_the_export_page_prints_the_parity(page, site_url):
    page.goto(f"{site_url}/index.html")
    page.locator('a[href="playground.html"]').first.wait_for()
    page.goto(f"{site_url}/export.html")
    page.wait_for_load_state("networkidle")
    text = page.locator("body").inner_text()
    assert "What ONNX is" in text and "unet.onnx" in text and "as shipped" in text
    shot(page, "web-04-export", full_page=True)
    assert page.outside == [] and page.errors == [] and page.failed == []


def live_slide(page, url: str) -> str:
    """The deck's URL at its live slide (#/h/v), found in the page."""
    page.goto(url)
    page.wait_for_selector(".reveal.ready", timeout=30_000)
    h, v = page.evaluate("""() => {
        const top = [...document.querySelectorAll('.reveal .slides > section')];
        const h = top.findIndex(s => s.querySelector('.t2i'));
        const subs = [...top[h].querySelectorAll(':scope > section')];
        return [h, Math.max(0, subs.findIndex(s => s.querySelector('.t2i')))];
    }""")
    return f"{url}#/{h}/{v}"


def type_and_generate(page, prompt: str) -> float:
    box = page.locator(".t2i-prompt").first
    box.fill(prompt)
    box.press("Enter")
    page.wait_for_selector(".t2i[data-generated='1']", timeout=60_000)
    return float(page.locator(".t2i").first.get_attribute("data-seconds"))


def test_lesson_06_deck_and_page_have_a_live_slide(page, site_url):
    deck = f"{site_url}/slides/06_stable_diffusion.slides.html"
    page.goto(live_slide(page, deck))
    page.wait_for_selector(".reveal.ready")
    page.wait_for_timeout(800)
    assert page.locator(".t2i-prompt").first.is_visible()
    seconds = type_and_generate(page, PROMPT)
    print(f"the deck's live slide: an image in {seconds:.2f} s (the model loaded first)")
    assert "06_stable_diffusion.slides.html#/" in page.url               # typing did not page the deck
    mad = np.abs(pixels(page) - python_picture(PROMPT, 0)).mean()
    print(f"deck: mean absolute pixel difference from load_text_to_image(): {mad:.3f} / 255")
    assert mad <= 2.0
    shot(page, "web-05-deck-live-slide")
    assert page.outside == [] and page.errors == [], (page.outside, page.errors)

    page.goto(f"{site_url}/lessons/06_stable_diffusion.html")
    page.locator(".t2i").scroll_into_view_if_needed()
    type_and_generate(page, "a large yellow star in the center")
    shot(page, "web-06-lesson-live")
    assert page.outside == [] and page.errors == [], (page.outside, page.errors)


def test_an_empty_or_unknown_prompt_gets_a_message_and_the_picture_is_large(page, site_url):
    page.goto(f"{site_url}/playground.html")
    page.wait_for_selector(".t2i[data-generated='1']", timeout=300_000)     # a busy machine: minutes
    box = page.locator(".t2i-image").bounding_box()
    print(f"the picture: {box['width']:.0f} px at 1366x768, bottom at {box['y'] + box['height']:.0f} px")
    assert box["width"] >= 500 and box["y"] + box["height"] <= 768, box       # large, and no scrolling
    status, prompt = page.locator(".t2i-status"), page.locator(".t2i-prompt")
    for typed, said, n in (("", "Type what to draw first", 1), ("a dog on the moon", "knows no shape or colour", 2)):
        prompt.fill(typed)
        prompt.press("Enter")
        page.wait_for_selector(f".t2i[data-refused='{n}']", timeout=5_000)
        assert said in status.inner_text() and page.locator(".t2i").get_attribute("data-generated") == "1"
    assert "circle, disc, disk, square, box, triangle, star" in status.inner_text()
    assert "red, orange, yellow, green, blue, purple" in status.inner_text()
    shot(page, "web-07-unknown-prompt")
    prompt.fill(PROMPT)
    page.locator(".t2i-go").click()
    page.wait_for_selector(".t2i[data-generated='2']", timeout=300_000)
    assert "steps in" in status.inner_text() and "t2i-error" not in (status.get_attribute("class") or "")
    assert page.outside == [] and page.errors == [] and page.failed == []
