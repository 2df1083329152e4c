"""course_utils/shapes_reader.py: Shapes World pictures read back into words."""

import pytest
import torch

from course_utils import shapes_reader


def test_read_scene_rejects_non_rgb_input():
    with pytest.raises(ValueError, match=r"\(3, H, W\)"):
        shapes_reader.read_scene(torch.rand(1, 64, 64))


def test_describe_says_what_the_pixels_show():
    from course_utils import data
    from course_utils import shapes as sw

    scene = sw.Scene("white", [sw.ShapeObject("red", "circle", "small", "top left")])
    image = data.render_scenes([scene])[0]
    assert shapes_reader.describe(image) == "small red circle, top left (on white)"
    assert shapes_reader.describe(torch.full((3, 64, 64), 10 / 255)) == "no shape (on black)"
