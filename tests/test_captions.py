import re

import numpy as np
import pytest
import torch

from course_utils import captions, data, shapes_reader
from course_utils import shapes as sw


def _scenes(wording, n=600, two=0.5, seed=0):
    return [data.shapes_scene(seed, i, two, wording) for i in range(n)]


def test_varied_captions_never_use_a_heldout_phrase():
    text = " | ".join(s.caption.lower() for s in _scenes("varied", 3000))
    held = [w for words in sw.POSITION_WORDS["heldout"].values() for w in words] + ["tiny", "huge"]
    for phrase in held:
        assert re.search(rf"\b{re.escape(phrase)}\b", text) is None, phrase
    for template in ("a picture of a", "the background is", "as well as"):
        assert template not in text


def test_varied_captions_name_every_colour_and_say_what_they_leave_out():
    scenes = _scenes("varied", 2000)
    for s in scenes:
        low = s.caption.lower()
        for obj in s.objects:
            assert obj.colour in low
            assert any(w in low for w in captions.SHAPE_WORDS[obj.shape])
        if "background" not in s.unsaid:
            assert any(w in low for w in captions.BACKGROUND_WORDS[s.background])
    unsaid = [s.unsaid for s in scenes]
    assert 0.05 < np.mean(["size" in u for u in unsaid]) < 0.25       # sometimes, not always
    assert len({s.caption for s in scenes}) > 0.95 * len(scenes)        # wording really varies


def test_freeform_and_heldout_prompts_are_held_out_by_construction():
    # every free-form and held-out prompt holds a word that no training caption holds (after lowercasing)
    free = [s.caption for s in _scenes("freeform", 3000, two=0.3, seed=2024)]
    held = [s.caption for s in _scenes("heldout", 1000, two=0.5, seed=2024)]
    assert all(captions.held_out_words(c) for c in free + held)
    training = [s.caption for w in ("varied", "train") for s in _scenes(w, 20000, seed=0)]
    training += [b.caption for i in range(5000) for b in data.shapes_pair(0, i, 0.5)]
    vocabulary = {w for c in training for w in re.findall(r"[a-z]+", c.lower())}
    assert not vocabulary & set(captions.FREEFORM_MARKERS + captions.HELDOUT_MARKERS)
    # the grammar's own word lists hold none of them either (a word too rare to be drawn above)
    grammar = [captions.SHAPE_WORDS, captions.SIZE_WORDS, captions.BACKGROUND_WORDS, captions.POSITION_PHRASES,
               captions.PREPOSITIONS, captions.BACKGROUND_FORMS, captions.VERBS, sw.TEMPLATES["train"],
               sw.POSITION_WORDS["train"], sw.SIZE_WORDS["train"], sw.TWO_OBJECT_TEMPLATES["train"]]
    assert not captions.held_out_words(re.sub(r"\{\w+\}", "", repr(grammar)))   # placeholders aside
    # so no free-form prompt is a training caption, exactly
    assert not {c.lower() for c in free} & {c.lower() for c in training}
    assert any(c.isupper() for c in free) and any("please" in c for c in free)


def test_held_out_words_finds_the_markers_and_nothing_else():
    assert captions.held_out_words("BLUE STAR, TOP LEFT PLEASE") == {"please"}
    assert captions.held_out_words("a tiny red circle") == {"tiny"}
    assert captions.held_out_words("a small red circle in the top left, black background") == set()
    assert captions.held_out_words("complete") == set()                 # whole words only ("please" in "pleased"? no)


def test_object_word_spans_find_each_objects_words_in_order():
    scene = sw.Scene("black", [sw.ShapeObject("red", "circle", "small", "top"),
                               sw.ShapeObject("red", "square", "large", "bottom")])
    text = "Red disc at the top; a big red box at the bottom"
    spans = captions.object_word_spans(text, scene)
    assert [[text[a:b] for a, b in s.values()] for s in spans] == [["Red", "disc"], ["red", "box"]]
    assert spans[1]["colour"][0] > spans[0]["shape"][1]
    assert captions.object_word_spans("a red circle", sw.Scene("black", [sw.ShapeObject("blue", "star", "small", "top")])) \
        == [{"colour": None, "shape": None}]


def test_object_word_spans_can_find_size_words_and_place_phrases_too():
    scene = sw.Scene("black", [sw.ShapeObject("red", "circle", "small", "right"),
                               sw.ShapeObject("blue", "star", "large", "top left")])
    text = "a little red disc right on the right side; top left corner, a big blue star"
    spans = captions.object_word_spans(text, scene, ("size", "colour", "position"))
    said = [{k: text[a:b] for k, (a, b) in s.items()} for s in spans]
    # the intensifier "right" is not the place; the longest phrase wins ("top left corner", not "top left")
    assert said == [{"size": "little", "colour": "red", "position": "right side"},
                    {"size": "big", "colour": "blue", "position": "top left corner"}]
    assert captions.object_word_spans(text, scene) == captions.object_word_spans(text, scene, ("colour", "shape"))
    with pytest.raises(ValueError, match="background"):
        captions.object_word_spans(text, scene, ("colour", "background"))


def test_adherence_does_not_grade_what_the_prompt_left_out():
    scene = sw.Scene("white", [sw.ShapeObject("red", "circle", "large", "top left")])
    image = torch.from_numpy(sw.render_scene(scene)).permute(2, 0, 1)[None].float() / 255
    asked = sw.Scene("black", [sw.ShapeObject("red", "circle", "small", "top left")])
    assert shapes_reader.adherence(image, [asked])["all"] == 0.0
    asked.unsaid = ("background", "size")
    result = shapes_reader.adherence(image, [asked])
    assert result["all"] == 1.0 and result["background"] == 1.0


def test_two_object_adherence_reads_rendered_scenes_back():
    scenes = [data.shapes_scene(7, i, 1.0, "varied") for i in range(40)]
    images = data.shapes_world(40, seed=7, two_object_fraction=1.0, wording="varied").images
    assert shapes_reader.adherence(images, scenes)["both_objects"] >= 0.95
    swapped = [sw.Scene(s.background, [sw.ShapeObject(o.colour, o.shape, o.size, p.position)
                                       for o, p in zip(s.objects, s.objects[::-1])]) for s in scenes]
    assert shapes_reader.adherence(images, swapped)["both_objects"] <= 0.1   # colours bound to the wrong places


def test_intensify_puts_right_before_places_but_never_before_the_centre():
    rng = np.random.default_rng(0)
    assert captions.intensify("a red disc at the top", rng, 1.0) == "a red disc right at the top"
    assert captions.intensify("A RED DISC AT THE TOP", rng, 1.0) == "A RED DISC RIGHT AT THE TOP"
    assert captions.intensify("a red disc at the top", rng, 0.0) == "a red disc at the top"
    assert captions.intensify("a red disc in the middle", rng, 1.0) == "a red disc in the middle"
    assert captions.intensify("a red disc at the middle right", rng, 1.0) == "a red disc at the middle right"
    with pytest.raises(ValueError, match="probability"):
        captions.intensify("a red disc at the top", rng, 2)
    # over many training captions: the intensifier appears, and never before a centre word, so that the
    # held-out centre phrase "right in the middle" (and its near twin "right in the centre") stays held out
    caps = [captions.intensify(data.shapes_scene(0, i, 0.5, "varied").caption, rng, 1.0) for i in range(3000)]
    assert sum("right at the top" in c.lower() for c in caps) > 10
    centre = re.compile(r"right (in|at|on) the (middle|centre|center|central|dead|very)")
    assert not [c for c in caps if centre.search(c.lower())]
    assert not [c for c in caps if captions.held_out_words(c)]
