"""Lesson 06, section 10 (why two objects fail, and a fix): the grounding loss measured on a
pipeline's U-Net (grounding.measure_grounding) and the side-by-side attention maps of two U-Nets
(viz.plot_cross_attention_rows)."""
import matplotlib
import pytest
import torch

matplotlib.use("Agg")

from course_utils import data, grounding, pipelines, viz  # noqa: E402
from course_utils.attention import CrossAttentionMaps  # noqa: E402


def _maps(scale, prompt="a red circle", words=("a", "red", "circle"), steps=2):
    raw = torch.rand(steps, len(words), 64, 64, generator=torch.Generator().manual_seed(0))
    raw[:, 1] *= scale                                               # "red": concentrated (large) or spread (small)
    return CrossAttentionMaps(prompt, torch.rand(3, 64, 64), list(words), raw / raw.sum(1, keepdim=True),
                              list(range(steps)), torch.full((steps,), 0.4))


def test_rows_share_one_colour_scale_and_title_each_word():
    fig = viz.plot_cross_attention_rows({"before": _maps(1.0), "after": _maps(20.0)}, ["red", 2])
    panels = [ax for ax in fig.axes if ax.get_title()]
    assert [ax.get_title() for ax in panels[::3]] == ["before", "after"]           # each row starts with its image
    assert [ax.get_title().split('"')[1] for ax in panels[1:3] + panels[4:6]] == ["red", "circle"] * 2
    limits = {ax.images[1].get_clim() for ax in panels if len(ax.images) == 2}
    assert len(limits) == 1                                                           # one scale for all rows
    assert limits.pop()[1] == pytest.approx(float(_maps(20.0).for_word("red").max()))


def test_rows_refuse_other_inputs():
    with pytest.raises(TypeError, match="dict"):
        viz.plot_cross_attention_rows([_maps(1.0)], ["red"])
    with pytest.raises(ValueError, match="share one prompt"):
        viz.plot_cross_attention_rows({"a": _maps(1.0), "b": _maps(1.0, prompt="a red square")}, ["red"])


def test_measure_grounding_runs_on_any_pipeline_and_refuses_one_object(tiny_course_checkpoints):
    pipe = pipelines.load_text_to_image(device="cpu")
    scenes = [data.shapes_scene(2024, k, 1.0, "heldout") for k in range(2)]
    got = grounding.measure_grounding(pipe, scenes, timesteps=(500,))
    assert set(got) == {"token", "pixel"} and all(0 <= v < 10 for v in got.values())
    with pytest.raises(ValueError, match="two objects"):
        grounding.measure_grounding(pipe, [data.shapes_scene(2024, 0, 0.0, "heldout")])


@pytest.mark.slow
def test_the_shipped_unet_looks_at_its_own_objects_and_swapped_masks_show_it():
    # lesson 06's claim on v3 (trained with the loss): each word's attention sits on its own object,
    # so handing it the other object's mask (the negative control) gives a much larger loss
    pipe = pipelines.load_text_to_image(device="cpu")
    scenes = [data.shapes_scene(2024, k, 1.0, "heldout") for k in range(8)]
    own, swapped = (grounding.measure_grounding(pipe, scenes, swap=s) for s in (False, True))
    assert own["token"] < 0.6 * swapped["token"] and own["pixel"] < swapped["pixel"]
