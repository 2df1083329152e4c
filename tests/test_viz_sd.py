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


def test_guidance_diversity_draws_counts_with_their_maxima_and_wilson_intervals():
    import pytest

    from course_utils.stats import Rate

    distinct = {1.0: {"colour": 6, "position": 7}, 7.5: {"colour": 4, "position": 4}}
    rates = {"a circle drawn": {1.0: Rate(47, 48), 7.5: Rate(15, 48)}}
    fig = viz.plot_guidance_diversity(distinct, {"colour": 6, "position": 9}, rates, 48)
    left, right = fig.axes
    assert [list(line.get_ydata()) for line in left.lines if line.get_marker() == "o"] == [[6, 4], [7, 4]]
    assert sorted(line.get_ydata()[0] for line in left.lines if line.get_linestyle() == ":") == [6, 9]
    assert [t.get_text() for t in left.get_legend().get_texts()] == ["colour (of 6)", "position (of 9)"]
    assert "48 seeds" in left.get_title()
    (_, caps, (bars,)) = right.containers[0]
    low, high = bars.get_segments()[1][:, 1]                  # w = 7.5: the bar spans the Wilson interval
    assert (round(low, 4), round(high, 4)) == tuple(round(x, 4) for x in Rate(15, 48).interval)
    with pytest.raises(ValueError, match="same attributes"):
        viz.plot_guidance_diversity({1.0: {"colour": 6}, 2.0: {"size": 2}}, {"colour": 6, "size": 2}, rates, 48)
    with pytest.raises(ValueError, match="how many values exist"):
        viz.plot_guidance_diversity(distinct, {"colour": 6}, rates, 48)
    with pytest.raises(TypeError, match="stats.Rate"):
        viz.plot_guidance_diversity(distinct, {"colour": 6, "position": 9}, {"circle": {1.0: 0.9}}, 48)
