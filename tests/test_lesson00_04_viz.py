"""Lesson 00's overview pictures (course_utils/viz/history.py): the timeline holds every milestone
the lesson tells, the Stable Diffusion diagram sends only the scheduler's last latent to the VAE
decoder, and the digit-model panels carry their judge scores."""

import matplotlib.pyplot as plt
import pytest
import torch
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch

from course_utils import viz
from course_utils.digit_judge import DigitReport
from course_utils.viz.history import TIMELINE, _x_positions


def _texts(fig):
    return [t.get_text() for ax in fig.axes for t in ax.texts] + [ax.get_title() for ax in fig.axes]


def test_timeline_has_score_models_dalle_and_flux_by_its_makers():
    fig = viz.plot_timeline()
    texts = "\n".join(_texts(fig))
    for year, name, _ in TIMELINE:
        assert name in texts and str(year) in texts
    papers = {name.split("\n")[0]: paper for _, name, paper in TIMELINE}
    assert "Song & Ermon" in papers["Score-based"] and "Ramesh" in papers["DALL-E 1:"]
    assert "Black Forest Labs" in papers["FLUX.1"] and "Esser" not in papers["FLUX.1"]
    plt.close(fig)


def test_events_of_one_year_sit_side_by_side():
    xs = _x_positions([2020, 2021, 2021, 2022])
    assert xs[0] == 2020 and xs[3] == 2022 and xs[1] < 2021 < xs[2]
    assert len(set(_x_positions([year for year, _, _ in TIMELINE]))) == len(TIMELINE)   # no two dots on one spot


def _boxes(ax):
    """{first line of the box's label: (x0, y0, x1, y1)}"""
    boxes = [p for p in ax.patches if isinstance(p, FancyBboxPatch)]
    out = {}
    for b in boxes:
        x0, y0 = b.get_x(), b.get_y()
        x1, y1 = x0 + b.get_width(), y0 + b.get_height()
        label = next(t.get_text() for t in ax.texts
                     if x0 <= t.get_position()[0] <= x1 and y0 <= t.get_position()[1] <= y1)
        out[label.split("\n")[0].split(" (")[0]] = (x0, y0, x1, y1)
    return out


def _inside(point, box, margin=0.05):
    x, y = point
    return box[0] - margin <= x <= box[2] + margin and box[1] - margin <= y <= box[3] + margin


def test_diagram_decodes_the_schedulers_last_latent_and_names_both_predictions():
    fig = viz.plot_stable_diffusion_diagram()
    ax = fig.axes[0]
    boxes = _boxes(ax)
    arrows = [p._posA_posB for p in ax.patches if isinstance(p, FancyArrowPatch)]
    into_vae = [a for a in arrows if _inside(a[1], boxes["VAE decoder"])]
    assert len(into_vae) == 1
    assert _inside(into_vae[0][0], boxes["scheduler"])                 # from the end of the loop
    assert not _inside(into_vae[0][0], boxes["denoising U-Net"])       # negative control: not from the U-Net
    texts = "\n".join(_texts(fig))
    assert "noise" in texts and "v (ours)" in texts
    plt.close(fig)


def test_digit_models_panels_carry_their_scores_and_refuse_bad_input():
    report = DigitReport(n=20, confidence=0.87, classes_covered=9, class_counts=[2] * 10,
                         class_entropy=3.3, frechet=4.25)
    samples = {"GAN": torch.rand(20, 1, 8, 8), "diffusion": torch.rand(20, 1, 16, 16)}
    fig = viz.plot_digit_models(samples, {"GAN": report})
    titles = [ax.get_title() for ax in fig.axes]
    assert len(fig.axes) == 2
    assert "confidence 0.87" in titles[0] and "9/10" in titles[0] and "4.2" in titles[0]
    assert titles[1] == "diffusion"                                    # no report, no scores
    plt.close(fig)
    with pytest.raises(ValueError, match="dict"):
        viz.plot_digit_models({})
    with pytest.raises(ValueError, match="grey digits"):
        viz.plot_digit_models({"RGB": torch.rand(4, 3, 8, 8)})


def test_embedding_map_leaves_out_labels_that_would_overprint():
    from course_utils import viz

    grid = [f"a {c} {s}" for c in ("red", "orange", "yellow", "green", "blue", "purple")
            for s in ("circle", "square", "triangle", "star")]
    fig = viz.plot_embedding_map(grid, groups=[p.split()[2] for p in grid])
    shown = [t.get_text() for t in fig.axes[0].texts]
    assert 4 <= len(shown) < len(grid) and set(shown) <= set(grid)     # one or more per cluster, not all 24
    assert not viz.plot_embedding_map(grid, groups=[p.split()[2] for p in grid], annotate=False).axes[0].texts
