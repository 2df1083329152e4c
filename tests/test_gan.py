import pytest
import torch

from course_utils import digit_judge, models, viz, widgets
from course_utils.models.gan import (
    discriminator_loss,
    generate,
    generator_loss,
    make_discriminator,
    make_generator,
    train_gan,
)


def test_losses_follow_the_minimax_game():
    confident_real, confident_fake = torch.full((4, 1), 8.0), torch.full((4, 1), -8.0)
    assert discriminator_loss(confident_real, confident_fake, real_label=1.0) < 0.01   # D wins
    assert discriminator_loss(confident_fake, confident_real, real_label=1.0) > 10     # D fooled
    # the non-saturating loss keeps a strong gradient when G is bad (D(G(z)) ~ 0); the saturating one does not
    logits = torch.full((4, 1), -6.0, requires_grad=True)
    generator_loss(logits).backward()
    strong = logits.grad.abs().mean().item()
    logits.grad = None
    generator_loss(logits, saturating=True).backward()
    assert strong > 50 * logits.grad.abs().mean().item()


@pytest.mark.slow
def test_a_short_training_run_moves_samples_towards_digits():
    from course_utils import data

    x = data.digits().images.reshape(-1, 64) * 2 - 1
    torch.manual_seed(0)
    G, D = make_generator(), make_discriminator()
    z = torch.randn(200, 32, generator=torch.Generator().manual_seed(1))
    before = digit_judge.judge_digits(generate(G, z)).frechet
    run = train_gan(G, D, x, 1200, generator=torch.Generator().manual_seed(0), snapshot_every=400, progress=False)
    assert len(run.d_losses) == 1200 and [s for s, _ in run.snapshots] == [1, 400, 800, 1200]
    assert digit_judge.judge_digits(generate(G, z)).frechet < before / 2


def test_shipped_gan_samples():
    a = models.sample("gan-digits", 300, seed=0)
    assert a.shape == (300, 1, 8, 8) and 0 <= a.min() and a.max() <= 1
    assert torch.equal(a, models.sample("gan-digits", 300, seed=0))
    report = digit_judge.judge_digits(a)
    assert report.classes_covered == 10 and report.frechet < 10


def test_gan_figures_and_widgets():
    G = make_generator()
    ax = viz.plot_gan_losses(list(range(100)), [0.7] * 100, smooth=10).axes[0]
    d, g = ax.lines[:2]
    assert [d.get_label(), g.get_label()] == ["discriminator", "generator"]
    assert list(d.get_xdata()) == list(range(9, 100))                                # from the 10th step on
    assert list(d.get_ydata()) == pytest.approx([k - 4.5 for k in range(9, 100)])    # mean of the last 10 steps
    assert list(g.get_ydata()) == pytest.approx([0.7] * 91)
    r = digit_judge.judge_digits(torch.rand(50, 1, 8, 8))
    r2 = digit_judge.judge_digits(torch.rand(30, 1, 8, 8, generator=torch.Generator().manual_seed(1)))
    axes = viz.plot_class_histogram({"a": r, "b": r2}).axes
    assert [[bar.get_height() for bar in ax.patches] for ax in axes] == [list(r.class_counts), list(r2.class_counts)]
    assert [sum(bar.get_height() for bar in ax.patches) for ax in axes] == [50, 30]   # each bar chart counts its own set
    snaps = [(1, torch.rand(16, 1, 8, 8)), (2, torch.rand(16, 1, 8, 8))]
    ex = widgets.snapshot_explorer(snaps)
    last = ex.image.value
    ex.index.value = 0
    assert ex.image.value != last and "<b>1</b>" in ex.label.value
    walk = widgets.latent_directions(G, n_directions=2)
    assert not torch.equal(walk.image_at([0, 0]), walk.image_at([3, 0]))
    with pytest.raises(ValueError, match="no snapshots"):
        widgets.snapshot_explorer([])


def test_simultaneous_loss_gives_each_player_its_own_gradient():
    from torch import nn

    from course_utils.models.gan import (
        discriminator_loss,
        generator_loss,
        make_discriminator,
        make_generator,
        simultaneous_loss,
    )

    torch.manual_seed(0)
    pair = nn.ModuleDict({"G": make_generator(), "D": make_discriminator(dropout=0.0)})
    real = torch.rand(8, 64) * 2 - 1
    simultaneous_loss(pair, real, torch.Generator().manual_seed(1)).backward()
    got = {n: p.grad.clone() for n, p in pair.named_parameters()}
    pair.zero_grad()
    fake = pair["G"](torch.randn(8, 32, generator=torch.Generator().manual_seed(1)))
    discriminator_loss(pair["D"](real), pair["D"](fake.detach())).backward()       # D's own loss
    for n, p in pair["D"].named_parameters():
        torch.testing.assert_close(got[f"D.{n}"], p.grad)
    pair.zero_grad()
    generator_loss(pair["D"](fake)).backward()                                      # G's own loss
    for n, p in pair["G"].named_parameters():
        torch.testing.assert_close(got[f"G.{n}"], p.grad)
    assert any(not torch.allclose(got[f"D.{n}"], p.grad) for n, p in pair["D"].named_parameters())  # G's loss moves D too


def test_saturating_and_sgd_options_and_the_saturation_figure():
    from course_utils import data

    x = data.digits().images.reshape(-1, 64) * 2 - 1
    runs = {}
    for sat in (False, True):
        torch.manual_seed(0)
        G, D = make_generator(), make_discriminator()
        runs[sat] = train_gan(G, D, x, 30, lr=0.05, optimizer="sgd", saturating=sat,
                              generator=torch.Generator().manual_seed(0), progress=False)
    assert len(runs[True].g_grad_norms) == 30 and all(g > 0 for g in runs[True].g_grad_norms)
    assert runs[True].g_losses[0] < 0 < runs[False].g_losses[0]         # log(1 - D) < 0 < -log D
    assert runs[True].g_grad_norms[1:] != runs[False].g_grad_norms[1:]   # same start, different losses
    fig = viz.plot_saturation({"non-saturating": runs[False], "saturating": runs[True]})
    assert len(fig.axes) == 2 and len(fig.axes[1].lines) == 2
    with pytest.raises(ValueError, match="optimizer"):
        train_gan(G, D, x, 1, optimizer="rmsprop", progress=False)
    with pytest.raises(ValueError, match="GANRun"):
        viz.plot_saturation({"a": [1, 2]})


def test_entropy_of_a_single_class_prints_as_zero():
    r = digit_judge.judge_digits(torch.zeros(20, 1, 8, 8))                     # all blank: one class
    assert r.class_entropy == 0 and "-0.00" not in str(r)
    fig = viz.plot_class_histogram({"one class": r})
    assert "-0.00" not in fig.axes[0].get_title()


def _live_run(steps, seconds):
    torch.manual_seed(0)
    G, D = make_generator(), make_discriminator()
    x = torch.rand(64, 64) * 2 - 1
    return train_gan(G, D, x, steps, generator=torch.Generator().manual_seed(0), snapshot_every=3,
                     progress=False, seconds=seconds)


def test_a_live_gan_run_is_the_same_training_bounded_by_the_clock(capsys):
    plain, live = _live_run(5, None), _live_run(5, 600)
    assert live.d_losses == plain.d_losses and live.g_losses == plain.g_losses   # the same 5 rounds
    assert [s for s, _ in live.snapshots] == [1, 3, 5]                           # the last round is shown too
    assert "all 5 steps done" in capsys.readouterr().out
    bounded = _live_run(10**6, 0.5)                                              # stops on time, long before
    assert 1 <= len(bounded.d_losses) < 10**6 and bounded.snapshots[-1][0] == len(bounded.d_losses)
    assert "time is up (0.5 s)" in capsys.readouterr().out
