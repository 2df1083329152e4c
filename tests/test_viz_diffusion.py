"""Lesson 03's pictures (course_utils/viz/diffusion.py): each panel shows the numbers it says it
shows: x0 noised by `add_noise` at the timestep in its title, each schedule's abar_t and log SNR,
the reverse process's states in the order they were recorded."""

import numpy as np
import pytest
import torch

from course_utils import viz
from course_utils.images import to_signed, to_unit
from course_utils.noise import add_noise, make_schedule
from course_utils.viz.diffusion import noised

X0 = torch.rand(3, 8, 8, generator=torch.Generator().manual_seed(0))     # one colour image in [0, 1]


def test_noised_is_add_noise_with_one_seeded_noise_for_every_timestep():
    s = make_schedule("linear")
    xs = noised(X0, [0, 500, 999], s, seed=4)
    noise = torch.randn(X0.shape, generator=torch.Generator().manual_seed(4))
    for x, t in zip(xs, [0, 500, 999]):
        assert torch.allclose(x, add_noise(to_signed(X0), noise, torch.tensor(t), s), atol=1e-6)
    assert (xs[0] - to_signed(X0)).abs().max() < 0.05                     # t = 0: noise of std 0.01
    assert not torch.equal(xs, noised(X0, [0, 500, 999], s, seed=5))


def test_noising_steps_show_x_t_under_its_abar_and_snr():
    s = make_schedule("cosine")
    fig = viz.plot_noising_steps(X0, s, timesteps=(0, 250, 999), seed=1)
    assert len(fig.axes) == 3 and "cosine" in fig._suptitle.get_text()
    xs = to_unit(noised(X0, [0, 250, 999], s, seed=1))
    for ax, x, t in zip(fig.axes, xs, (0, 250, 999)):
        abar = s.alphas_cumprod[t].item()
        assert ax.get_title() == f"t = {t}\nᾱ = {abar:.3f}, SNR = {abar / (1 - abar):.3g}"
        assert np.allclose(ax.images[0].get_array(), x.permute(1, 2, 0).numpy())
    assert fig.axes[0].get_title().startswith("t = 0\nᾱ = 1.000")        # nearly the clean image first


def test_schedules_plot_each_kinds_abar_and_log_snr():
    fig = viz.plot_schedules(("linear", "cosine"), num_timesteps=100)
    left, right = fig.axes
    assert [line.get_label() for line in left.lines] == ["linear", "cosine"]
    for kind, abar_line, snr_line in zip(("linear", "cosine"), left.lines, right.lines):
        abar = make_schedule(kind, 100).alphas_cumprod.double().numpy()
        assert np.allclose(abar_line.get_ydata(), abar)
        assert np.allclose(snr_line.get_ydata(), np.log(abar / (1 - abar)))
    assert [line.get_label() for line in viz.plot_schedules("cosine").axes[0].lines] == ["cosine"]


def test_denoising_trajectory_puts_samples_in_rows_and_steps_in_columns():
    g = torch.Generator().manual_seed(0)
    trajectory = [torch.rand(5, 1, 4, 4, generator=g) * 2 - 1 for _ in range(3)]      # 3 steps of 5 samples
    x0_preds = [torch.rand(5, 1, 4, 4, generator=g) * 2 - 1 for _ in range(3)]
    fig = viz.plot_denoising_trajectory(trajectory, [999, 500, 0], n_show=2, x0_preds=x0_preds)
    axes = np.array(fig.axes).reshape(4, 3)                       # x_t #0, x̂_0 #0, x_t #1, x̂_0 #1
    assert [a.get_title() for a in axes[0]] == ["t = 999", "t = 500", "t = 0"]
    assert [a.get_ylabel() for a in axes[:, 0]] == ["x_t #0", "x̂_0 #0", "x_t #1", "x̂_0 #1"]
    assert np.allclose(axes[2, 0].images[0].get_array(), to_unit(trajectory[0][1])[0].numpy())
    assert np.allclose(axes[3, 2].images[0].get_array(), to_unit(x0_preds[2][1])[0].numpy())
    assert len(viz.plot_denoising_trajectory(trajectory, [999, 500, 0], n_show=64).axes) == 5 * 3  # 5 samples
    with pytest.raises(ValueError, match="as long as each other"):
        viz.plot_denoising_trajectory(trajectory, [999, 0])
