import matplotlib

matplotlib.use("Agg")

from course_utils import viz  # noqa: E402


def test_guidance_curve_draws_error_bars_and_both_legends():
    row = dict(colour=0.9, shape=0.8, size=1.0, position=0.85, all=0.6)
    fig = viz.plot_guidance_curve({1.0: row, 2.0: row}, 24, rescaled={2.0: row})
    ax = fig.axes[0]
    assert len(ax.containers) == 5 * 2                      # plain and rescaled, one error-bar set per attribute
    attributes = [t.get_text() for t in ax.artists[0].get_texts()]            # the first legend: colours
    assert attributes == ["colour", "shape", "size", "position", "all"]
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["plain", "rescaled 0.7"]
    assert "24 prompts" in ax.get_title()


def _maps(words=("a", "red", "circle"), steps=3):
    import torch

    from course_utils.attention import CrossAttentionMaps

    raw = torch.rand(steps, len(words), 64, 64)
    return CrossAttentionMaps("a red circle", torch.rand(3, 64, 64), list(words), raw / raw.sum(1, keepdim=True),
                              list(range(steps)), torch.full((steps,), 0.4))


def test_cross_attention_draws_the_image_then_one_panel_per_word():
    import pytest

    m = _maps()
    fig = viz.plot_cross_attention(m)
    panels = [ax for ax in fig.axes if ax.get_title()]
    assert [ax.get_title().split('"')[1] for ax in panels[1:]] == ["a", "red", "circle"]
    assert panels[0].get_title() == "generated"
    assert "padding left out" in fig._suptitle.get_text() and "mean over all steps" in fig._suptitle.get_text()
    shown = panels[2].images[1].get_array()                        # the overlay of "red" is its map
    assert abs(float(shown.mean()) - float(m.for_word("red").mean())) < 1e-6
    fig = viz.plot_cross_attention(m, step=-1, words=["circle"])
    assert [ax.get_title() for ax in fig.axes if ax.get_title()][1].startswith('"circle"')
    assert "step 3 of 3" in fig._suptitle.get_text()
    with pytest.raises(TypeError, match="cross_attention_maps"):
        viz.plot_cross_attention({"image": 1})
