import pytest
import torch

from course_utils import flow


def test_interpolate_is_the_straight_line_and_checks_t():
    x0, eps = torch.zeros(2, 1, 4, 4), torch.ones(2, 1, 4, 4)
    x = flow.interpolate(x0, eps, torch.tensor([0.0, 0.25]))
    assert torch.all(x[0] == 0) and torch.allclose(x[1], torch.full((1, 4, 4), 0.25))
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        flow.interpolate(x0, eps, torch.tensor([0.5, 1.5]))


def test_flow_loss_is_zero_for_the_true_velocity_field_of_one_point():
    """With a single data point x0, the exact velocity at x_t is (x_t - x0) / t = eps - x0."""
    x0 = torch.randn(1, 2, generator=torch.Generator().manual_seed(0))

    def exact(x, t):
        return (x - x0) / t.reshape(-1, 1)

    loss = flow.flow_loss(exact, x0.repeat(64, 1), torch.Generator().manual_seed(1))
    assert loss < 1e-8
    assert flow.flow_loss(lambda x, t: torch.zeros_like(x), x0.repeat(64, 1), torch.Generator().manual_seed(1)) > 0.5


def test_euler_sampler_matches_diffusers_flow_match_scheduler():
    from diffusers import FlowMatchEulerDiscreteScheduler

    def model(x, t):                                   # any smooth velocity field
        return torch.sin(x) * t.reshape(-1, 1) + 0.3

    noise = torch.randn(5, 2, generator=torch.Generator().manual_seed(0))
    ours, trail, times = flow.euler_sample(model, noise, 6, record=True)
    sched = FlowMatchEulerDiscreteScheduler(num_train_timesteps=1000, shift=1.0)
    sched.set_timesteps(sigmas=times[:-1])             # the same times; diffusers appends the final 0
    x = noise
    for t in sched.timesteps:
        x = sched.step(model(x, (t / 1000).expand(len(x))), t, x).prev_sample
    assert torch.allclose(ours, x, atol=1e-5) and len(trail) == 7
    with pytest.raises(ValueError, match="at least 1"):
        flow.euler_sample(model, noise, 0)


def test_toy_flow_moves_noise_onto_the_moons():
    model, losses = flow.train_toy(steps=600)
    x = flow.euler_sample(model, torch.randn(1000, 2, generator=torch.Generator().manual_seed(3)), 16)
    data = flow.toy_data(1000)
    # nearest-data-point distance: samples land near the moons, far closer than the noise they came from
    d_samples = torch.cdist(x, data).min(1).values.median()
    d_noise = torch.cdist(torch.randn(1000, 2, generator=torch.Generator().manual_seed(3)), data).min(1).values.median()
    assert d_samples < 0.5 * d_noise


def test_flow_explorer_moves_through_time():
    from course_utils import widgets

    trail = [torch.randn(50, 2), torch.zeros(50, 2)]
    ex = widgets.flow_explorer(trail, [1.0, 0.0], torch.zeros(10, 2))
    first = ex.image.value
    ex.step.value = 1
    assert "t = 0.00" in ex.label.value and ex.image.value != first


def test_flow_loss_uses_the_coupled_noise_when_given():
    x0, noise = torch.zeros(8, 2), torch.ones(8, 2)
    exact = flow.flow_loss(lambda x, t: torch.ones_like(x), x0, torch.Generator().manual_seed(0), noise)
    fresh = flow.flow_loss(lambda x, t: torch.ones_like(x), x0, torch.Generator().manual_seed(0))
    assert exact == 0 and fresh > 0.1   # the velocity of every line from 0 to 1 is 1; fresh noise is not


def test_one_round_of_reflow_straightens_the_toy_flow():
    model, _ = flow.train_toy(steps=300, n=1024)
    noise = torch.randn(512, 2, generator=torch.Generator().manual_seed(5))
    new, (x0, x1), losses = flow.reflow(model, n=1024, steps=300)
    assert torch.allclose(x0, flow.euler_sample(model, x1, 100))          # the pairs are the old flow's
    assert flow.straightness(new, noise) < flow.straightness(model, noise) / 3
    moons = flow.toy_data(1000)
    one_step = {m: torch.cdist(flow.euler_sample(m, noise, 1), moons).min(1).values.median() for m in (model, new)}
    assert one_step[new] < one_step[model] / 2                              # one step now lands near the moons
    assert next(model.parameters()) is not next(new.parameters())           # the old model is left as it was


def test_plot_reflow_draws_paths_and_one_step_per_model_and_refuses_no_models():
    from course_utils.viz import plot_reflow

    model, _ = flow.train_toy(steps=50, n=256)
    noise, data = torch.randn(100, 2, generator=torch.Generator().manual_seed(0)), flow.toy_data(200)
    fig = plot_reflow({"a": model, "b": model}, noise, data, steps=5, n_paths=10)
    titles = [ax.get_title() for ax in fig.axes]
    assert len(titles) == 4 and titles[0] == "a: 5-step paths" and titles[1].startswith("a: 1 step, median dist.")
    assert len(fig.axes[0].lines) == 10 and titles[1] == titles[3].replace("b:", "a:")   # same model, same numbers
    with pytest.raises(ValueError, match="models must be"):
        plot_reflow({}, noise, data)


def test_reflow_trains_on_the_noise_of_its_seed_not_on_lesson_07s_test_noise():
    model = flow.ToyVelocity()
    _, (_, noise), _ = flow.reflow(model, n=4096, steps=1, sampler_steps=1)
    assert torch.equal(noise, torch.randn(4096, 2, generator=torch.Generator().manual_seed(2)))
    tested = torch.randn(2000, 2, generator=torch.Generator().manual_seed(1))   # lesson 07's x1
    assert torch.cdist(tested, noise).min() > 0          # no test point is a training point
    _, (_, same), _ = flow.reflow(model, n=4096, steps=1, sampler_steps=1, seed=1)
    assert torch.cdist(tested, same).min() == 0          # negative control: seed 1 would train on them


def test_reflow_refuses_a_model_it_cannot_fine_tune():
    with pytest.raises(TypeError, match="torch.nn.Module"):
        flow.reflow(lambda x, t: x, n=10, steps=1)


def test_card_results_are_the_model_cards_rows_under_lesson_07s_names(tmp_path):
    import json

    from course_utils.paths import checkpoint_dir

    card = json.loads((checkpoint_dir("flow-digits") / "metrics.json").read_text())
    table = flow.card_results()
    assert table.n == card["n"] and set(table.results) == {"flow-digits", "ddpm-digits (DDIM)"}
    for row in card["samplers"]:
        got = table.results[flow.CARD_NAMES[row["model"]]][row["steps"]]
        assert (got.frechet, got.confidence, got.classes_covered) == (row["frechet"], row["confidence"], row["classes"])
    # the two models' rows are not the same numbers (a swap of the names would show)
    assert table.results["flow-digits"][1].frechet != table.results["ddpm-digits (DDIM)"][1].frechet
    assert table.real.frechet == card["real"]["frechet"] and sum(table.real.class_counts) == card["n"]

    broken = tmp_path / "metrics.json"
    broken.write_text(json.dumps({"n": 500, "real": card["real"]}))
    with pytest.raises(ValueError, match="evaluate_checkpoints.py flow-digits"):
        flow.card_results(broken)
    with pytest.raises(FileNotFoundError, match="evaluate_checkpoints.py flow-digits"):
        flow.card_results(tmp_path / "missing.json")


def _weights_by_sampling(lam_samples, factor, centres, width=0.5):
    """Monte Carlo w(lambda): density of the sampled lambdas times the loss's factor, scaled to 1 at 0."""
    def at(c):
        near = (lam_samples - c).abs() < width / 2
        return float((factor * near).sum())
    zero = at(0.0)
    return torch.tensor([at(float(c)) / zero for c in centres])


def test_objective_weights_match_sampling_t_and_weighing_the_eps_error():
    g = torch.Generator().manual_seed(0)
    centres = torch.tensor([-4.0, -2.0, 2.0, 4.0])
    w = flow.objective_weights(centres)
    # flow matching, t ~ U(0, 1): lambda = 2 log((1 - t) / t), velocity error = eps error / (1 - t)^2
    t = torch.rand(2_000_000, generator=g, dtype=torch.float64).clamp(1e-6, 1 - 1e-6)
    lam = 2 * ((1 - t) / t).log()
    mc = _weights_by_sampling(lam, 1 / (1 - t) ** 2, centres)
    assert torch.allclose(w["flow matching: t uniform"], mc.float(), rtol=0.1)
    unweighted = _weights_by_sampling(lam, torch.ones_like(t), centres)   # negative control: no 1/(1-t)^2
    assert not torch.allclose(w["flow matching: t uniform"], unweighted.float(), rtol=0.1)
    # SD3: t logit-normal(0, 1)
    t = torch.sigmoid(torch.randn(2_000_000, generator=g, dtype=torch.float64))
    lam = 2 * ((1 - t) / t).log()
    mc = _weights_by_sampling(lam, 1 / (1 - t) ** 2, centres)
    assert torch.allclose(w["SD3: flow, t logit-normal(0, 1)"], mc.float(), rtol=0.1)
    # DDPM: steps uniform over lesson 03's linear schedule, the eps-error unweighted
    from course_utils.noise import make_schedule

    abar = make_schedule("linear").alphas_cumprod.double()
    lam = (abar / (1 - abar)).log()[torch.randint(0, 1000, (2_000_000,), generator=g)]
    mc = _weights_by_sampling(lam, torch.ones_like(lam), centres, width=1.0)
    assert torch.allclose(w["DDPM: ε-loss, linear schedule, t uniform"], mc.float(), rtol=0.1)
    assert torch.all(w["ELBO (uniform in λ)"] == 1)


def test_objective_weights_are_nan_where_ddpm_never_trains_and_refuse_bad_input():
    w = flow.objective_weights(torch.tensor([-20.0, 0.0, 20.0]))
    assert torch.isnan(w["DDPM: ε-loss, linear schedule, t uniform"][[0, 2]]).all()
    assert all(float(v[1]) == pytest.approx(1.0) for v in w.values())
    with pytest.raises((TypeError, ValueError)):
        flow.objective_weights("0.5")


def test_an_euler_step_of_the_flow_is_a_ddim_step_in_rescaled_coordinates():
    """Lesson 07: x / sqrt((1-t)^2 + t^2) is a variance-preserving path with sqrt(abar) = (1-t)/scale."""
    from course_utils.diffusion import ddim_step

    g = torch.Generator().manual_seed(0)
    x_t, v = torch.randn(4, 1, 8, 8, generator=g), torch.randn(4, 1, 8, 8, generator=g)
    t, s = 0.8, 0.3
    euler = x_t + (s - t) * v

    def scale(u):
        return ((1 - u) ** 2 + u ** 2) ** 0.5

    abar = torch.tensor([(1 - s) ** 2 / scale(s) ** 2, (1 - t) ** 2 / scale(t) ** 2])
    ddim, _ = ddim_step(x_t + (1 - t) * v, 1, 0, x_t / scale(t), abar)
    assert torch.allclose(euler, ddim * scale(s), atol=1e-5)
    wrong, _ = ddim_step(x_t + (1 - t) * v, 1, 0, x_t, abar)          # not rescaled: a different step
    assert not torch.allclose(euler, wrong * scale(s), atol=1e-2)
