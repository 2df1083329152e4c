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
