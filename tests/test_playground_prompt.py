"""The playgrounds' slips (issue 30): an empty or meaningless prompt gets a message, in the widget and in
the in-browser page alike; the guidance explorer says how different its seeds' pictures are, and why."""

import json
import re

import pytest
import torch

from course_utils import paths, pipelines, widgets
from course_utils.widgets import sd

LESSON_PROMPT = "a big green triangle at the bottom, gray background"     # lesson 06's guidance explorer


def test_an_empty_prompt_and_one_without_a_known_word_are_named():
    assert sd.prompt_problem("   ").startswith("Type what to draw first, for example: a small red circle")
    for nonsense in ("a dog on the moon", "top left", "a big one"):
        said = sd.prompt_problem(nonsense)
        assert "knows no shape or colour" in said and "circle, disc, disk, square, box, triangle, star" in said
        assert "red, orange, yellow, green, blue, purple" in said
    for fine in (LESSON_PROMPT, "two Stars", "something blue", "a disc"):
        assert sd.prompt_problem(fine) is None, fine
    assert sd.named_attributes(LESSON_PROMPT) == ["colour", "shape", "size", "background", "position"]
    assert sd.named_attributes("a green triangle") == ["colour", "shape"]


def test_the_browser_page_knows_the_same_words():
    js = (paths.ROOT / "classroom" / "web" / "t2i-ui.js").read_text()
    block = re.search(r"const WORDS = \{(.*?)\};", js, re.S).group(1)
    lists = {k: json.loads(v) for k, v in re.findall(r"(\w+): (\[.*?\]),", block)}
    words = sd.prompt_words()
    assert lists == {"colour": words["colour"], "shape": words["shape"]}
    assert f'const EXAMPLE = "{sd.EXAMPLE_PROMPT}"' in js


def test_the_playground_widget_refuses_an_empty_prompt_and_keeps_its_picture(tiny_course_checkpoints):
    pg = widgets.prompt_playground(pipelines.load_text_to_image(device="cpu"))
    first, calls = pg.image.value, []
    pg.run = lambda *a: calls.append(a) or {}
    for prompt in ("", "a dog on the moon"):
        pg.prompt.value = prompt
        assert pg.generate() == {} and pg.image.value == first and calls == []
    assert "knows no shape or colour" in pg.label.value
    pg.prompt.value = ""
    pg.generate()
    assert "Type what to draw first" in pg.label.value


def test_seed_spread_is_the_mean_pairwise_difference():
    same = torch.zeros(4, 3, 8, 8)
    assert sd.seed_spread(same) == 0.0
    two = torch.stack([torch.zeros(3, 8, 8), torch.ones(3, 8, 8) * 0.5])
    assert sd.seed_spread(two) == pytest.approx(127.5)


def _explorer(spread: dict, prompt: str) -> sd.GuidanceExplorer:
    ge = sd.GuidanceExplorer.__new__(sd.GuidanceExplorer)          # the text alone: no pipeline to run
    ge.prompt, ge.scales, ge.spread = prompt, list(spread), spread
    ge.images = {s: torch.zeros(4, 3, 8, 8) for s in spread}
    return ge


def test_the_guidance_explorer_says_what_the_room_sees():
    full = _explorer({1.0: 2.2, 5.0: 1.3, 15.0: 2.1}, LESSON_PROMPT).explain(5.0)
    assert "differ by <b>1.3</b> of 255" in full and "(at 1.0: 2.2)" in full
    assert "look the same at every scale" in full and "That is the prompt, not guidance" in full
    assert "colour, shape, size, background and position" in full
    open_ = _explorer({1.0: 110.0, 5.0: 76.1}, "a green triangle").explain(5.0)
    assert "look the same" not in open_ and "leaves the size, position and background to the seed" in open_
    assert "differ by <b>76.1</b>" in open_


def test_the_guidance_explorer_measures_its_own_pictures(tiny_course_checkpoints):
    pipe = pipelines.load_text_to_image(device="cpu")
    ge = widgets.guidance_explorer(pipe, "a red circle", scales=(1.0, 5.0), n_seeds=3, num_inference_steps=2)
    assert set(ge.spread) == {1.0, 5.0}
    assert ge.spread[5.0] == pytest.approx(sd.seed_spread(ge.images[5.0])) and ge.spread[5.0] > 0
    assert f"differ by <b>{ge.spread[ge.slider.value]:.1f}</b>" in ge.label.value
