"""JupyterLab, as a student and an instructor use it: lesson 06 run top to bottom, its playground
typed into, and the same notebook presented as live slides (jupyterlab-slideshow)."""

import pytest
from conftest import shot

NOTEBOOK = "notebooks/06_stable_diffusion.ipynb"
PROMPT = "a big green square in the center"

ALL_RUN = """() => {
  const nb = window.jupyterapp.shell.currentWidget;
  const kernel = nb && nb.sessionContext.session && nb.sessionContext.session.kernel;
  const code = nb.content.widgets.filter(c => c.model.type === 'code');
  return kernel && kernel.status === 'idle' && code.every(c => c.model.executionCount !== null);
}"""


@pytest.fixture(scope="module")
def lesson06(browser, lab):
    """Lesson 06 open in JupyterLab and run top to bottom (once for the tests below)."""
    base, token = lab
    context = browser.new_context(viewport={"width": 1366, "height": 768})
    page = context.new_page()
    page.outside, page.errors = [], []
    context.route("**/*", lambda r: r.continue_() if r.request.url.startswith(("http://127.0.0.1", "ws://127.0.0.1",
                  "data:", "blob:")) else (page.outside.append(r.request.url), r.abort()))
    page.goto(f"{base}/lab/tree/{NOTEBOOK}?token={token}&reset")
    page.wait_for_function("() => window.jupyterapp && jupyterapp.shell.currentWidget && "
                           "jupyterapp.shell.currentWidget.sessionContext.session && "
                           "jupyterapp.shell.currentWidget.sessionContext.session.kernel && "
                           "jupyterapp.shell.currentWidget.sessionContext.session.kernel.status === 'idle'",
                           timeout=120_000)
    shot(page, "lab-01-lesson06-open")
    page.evaluate("() => jupyterapp.commands.execute('notebook:run-all-cells')")
    page.wait_for_function(ALL_RUN, timeout=600_000, polling=1000)
    yield page
    context.close()


def playground_cell(page):
    return page.locator(".jp-CodeCell").filter(has=page.locator(".widget-text input")).last


def test_lesson06_runs_without_errors_or_stray_stderr(lesson06):
    page = lesson06
    errors = page.locator('.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.error"]')
    stderr = page.locator('.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]')
    texts = [stderr.nth(i).inner_text()[:200] for i in range(stderr.count())]
    assert errors.count() == 0, [errors.nth(i).inner_text()[:300] for i in range(errors.count())]
    assert texts == [], texts
    assert page.outside == []


def test_playground_in_the_notebook_answers_a_typed_prompt(lesson06):
    page = lesson06
    cell = playground_cell(page)
    cell.scroll_into_view_if_needed()
    image = cell.locator("img.widget-image").first
    image.wait_for()
    before = image.get_attribute("src")
    box = image.bounding_box()
    assert abs(box["width"] - box["height"]) < 2 and box["width"] <= 300, box   # its own size, not stretched
    prompt = cell.locator(".widget-text input").first
    prompt.fill(PROMPT)
    prompt.press("Enter")
    page.wait_for_function("([el, old]) => el.getAttribute('src') !== old", arg=[image.element_handle(), before],
                           timeout=30_000)
    image.scroll_into_view_if_needed()
    shot(page, "lab-02-playground-typed")
    again = image.get_attribute("src")
    prompt.press("Enter")                                      # Enter on an unchanged prompt generates too
    label = cell.locator(".widget-html-content").filter(has_text="steps in").first
    page.wait_for_function("el => el.textContent.includes('steps in')", arg=label.element_handle())
    assert again
    assert page.errors == [] and page.outside == []


def test_slideshow_shows_the_playground_as_a_live_widget(lesson06):
    page = lesson06
    cells = page.locator(".jp-Notebook .jp-Cell")
    index = next(i for i in range(cells.count()) if "widgets.prompt_playground(pipe)" in (   # its slide, past the heading's
        page.evaluate("i => jupyterapp.shell.currentWidget.content.widgets[i].model.sharedModel.getSource()", i)))
    page.evaluate("i => { jupyterapp.shell.currentWidget.content.activeCellIndex = i; }", index)
    page.evaluate("() => jupyterapp.commands.execute('deck:start')")
    page.wait_for_function("() => document.body.dataset.jpDeckMode === 'presenting'", timeout=30_000)
    page.wait_for_timeout(1500)
    shot(page, "lab-03-deck-playground")
    visible = page.locator(".widget-text input:visible")
    assert visible.count() >= 1, "the playground is not on the slide"
    assert page.get_by_text("PromptPlayground(children=").count() == 0      # a widget, not its text
    cell = playground_cell(page)
    image = cell.locator("img.widget-image").first
    assert image.is_visible()
    before = image.get_attribute("src")
    prompt = visible.first
    prompt.fill("a small purple triangle in the top right")
    prompt.press("Enter")
    page.wait_for_function("([el, old]) => el.getAttribute('src') !== old", arg=[image.element_handle(), before],
                           timeout=30_000)
    shot(page, "lab-04-deck-playground-typed")
    page.evaluate("() => jupyterapp.commands.execute('deck:stop')")
    assert page.outside == []


def test_slideshow_pages_from_the_start_at_1280x720(lesson06):
    """The first slides of the live deck as a projector at 1280x720 shows them (screenshots to look at)."""
    page = lesson06
    page.set_viewport_size({"width": 1280, "height": 720})
    page.evaluate("() => { jupyterapp.shell.currentWidget.content.activeCellIndex = 0; }")
    page.evaluate("() => jupyterapp.commands.execute('deck:start')")
    page.wait_for_function("() => document.body.dataset.jpDeckMode === 'presenting'", timeout=30_000)
    for i in range(6):
        page.wait_for_timeout(800)
        shot(page, f"lab-05-deck-1280x720-{i:02d}")
        page.evaluate("() => jupyterapp.commands.execute('deck:forward')")
    page.evaluate("() => jupyterapp.commands.execute('deck:stop')")
    page.set_viewport_size({"width": 1366, "height": 768})
    assert page.outside == [] and page.errors == []
