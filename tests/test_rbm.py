import itertools

import numpy as np
import pytest
import torch
from sklearn.neural_network import BernoulliRBM

from course_utils import viz, widgets
from course_utils.models.rbm import RBM


def _all_states(n):
    return torch.tensor(list(itertools.product([0.0, 1.0], repeat=n)))


def test_free_energy_is_the_energy_with_h_summed_out(tiny_rbm):
    rbm = tiny_rbm()
    vs, hs = _all_states(4), _all_states(3)
    for v in vs:
        energies = rbm.energy(v.expand(len(hs), -1), hs)                  # E(v, h) for every h
        assert torch.allclose(rbm.free_energy(v[None]), -torch.logsumexp(-energies, 0), atol=1e-5)


def test_conditionals_match_the_joint_distribution(tiny_rbm):
    rbm = tiny_rbm(1)
    vs, hs = _all_states(4), _all_states(3)
    v = vs[5]
    joint = torch.exp(-rbm.energy(v.expand(len(hs), -1), hs))              # p(v, h) up to Z, for every h
    p_h1 = (joint[:, None] * hs).sum(0) / joint.sum()                      # p(h_j = 1 | v) by brute force
    assert torch.allclose(rbm.p_h(v[None])[0], p_h1, atol=1e-5)
    h = hs[3]
    joint_v = torch.exp(-rbm.energy(vs, h.expand(len(vs), -1)))
    assert torch.allclose(rbm.p_v(h[None])[0], (joint_v[:, None] * vs).sum(0) / joint_v.sum(), atol=1e-5)


def test_same_numbers_as_scikit_learn_for_the_same_parameters(tiny_rbm):
    rbm = tiny_rbm(2, V=64, H=16)
    sk = BernoulliRBM(n_components=16)
    sk.components_ = rbm.components_.double().numpy()
    sk.intercept_hidden_ = rbm.intercept_hidden_.double().numpy()
    sk.intercept_visible_ = rbm.intercept_visible_.double().numpy()
    v = (torch.rand(10, 64, generator=torch.Generator().manual_seed(0)) < 0.3).float()
    assert np.allclose(rbm.p_h(v).numpy(), sk.transform(v.double().numpy()), atol=1e-5)
    assert np.allclose(rbm.free_energy(v).numpy(), sk._free_energy(v.double().numpy()), atol=1e-3)


def test_cd_learns_the_digits():
    from course_utils import data

    v = data.digits(binary=True).images.reshape(-1, 64)
    g = torch.Generator().manual_seed(0)
    rbm = RBM(64, 64, generator=g)
    before = rbm.pseudo_log_likelihood(v).mean()
    errors = rbm.fit(v, epochs=3, lr=0.05, batch_size=20, persistent=False, generator=g)
    assert errors[-1] < errors[0] and rbm.pseudo_log_likelihood(v).mean() > before + 10
    noise = (torch.rand(300, 64, generator=g) < v.mean()).float()
    assert rbm.free_energy(v[:300]).mean() < rbm.free_energy(noise).mean()


def test_sampling_is_seeded_and_recorded(tiny_rbm):
    rbm = tiny_rbm(3, V=64, H=16)
    a = rbm.sample(5, steps=20, generator=torch.Generator().manual_seed(0))
    b, record = rbm.sample(5, steps=20, generator=torch.Generator().manual_seed(0), record_every=5)
    assert a.shape == (5, 64) and torch.equal(a, b) and len(record) == 5      # start, then steps 5, 10, 15, 20
    assert 0 <= a.min() and a.max() <= 1 and torch.equal(record[-1], a)
    start = (torch.rand(5, 64, generator=torch.Generator().manual_seed(0)) < 0.5).float()
    assert torch.equal(record[0], start)                                      # step 0 is the random start
    _, every = rbm.sample(5, steps=3, generator=torch.Generator().manual_seed(0), record_every=1)
    assert len(every) == 4 and not torch.equal(every[0], every[1])


def test_bad_input_gets_a_clear_error(tiny_rbm):
    rbm = tiny_rbm(V=64, H=8)
    with pytest.raises(ValueError, match="only 0s and 1s"):
        rbm.fit(torch.rand(20, 64), epochs=1)
    with pytest.raises(ValueError, match=r"\(N, 64\)"):
        rbm.pseudo_log_likelihood(torch.ones(3, 63))
    assert rbm.pseudo_log_likelihood(torch.ones(3, 1, 8, 8)).shape == (3,)  # images are accepted


def test_rbm_figures_and_gibbs_widget(tiny_rbm):
    rbm = tiny_rbm(V=64, H=20)
    assert len([a for a in viz.plot_filters(rbm, n=20).axes if a.images]) == 20
    v = (torch.rand(30, 64) < 0.5).float()
    assert viz.plot_free_energy(rbm, {"a": v, "b": 1 - v}).axes[0].get_legend() is not None
    _, rec = rbm.sample(3, steps=4, record_every=1)
    fig = viz.plot_gibbs_chain(rec, list(range(5)), n_show=3)
    assert [ax.get_title() for ax in fig.axes[:5]] == ["start", "1", "2", "3", "4"]
    with pytest.raises(ValueError, match="same length"):
        viz.plot_gibbs_chain(rec, list(range(4)))
    ex = widgets.gibbs_explorer(rbm, n=3, steps=10)
    first = ex.image.value
    assert "random bits" in ex.label.value
    ex.step.value = 10
    assert len(ex.frames) == 11 and ex.image.value != first and "<b>10</b>" in ex.label.value


def test_sgd_on_cd_loss_makes_exactly_the_cd_update():
    from course_utils.models.rbm import RBM

    v = (torch.rand(10, 64, generator=torch.Generator().manual_seed(0)) > 0.5).float()
    a = RBM(64, 32, generator=torch.Generator().manual_seed(1))
    b = RBM(64, 32, generator=torch.Generator().manual_seed(1)).requires_grad_(True)
    a.cd_update(v, lr=0.05, k=2, generator=torch.Generator().manual_seed(2))
    opt = torch.optim.SGD(b.parameters(), lr=0.05)
    b.cd_loss(v, k=2, generator=torch.Generator().manual_seed(2)).backward()
    opt.step()
    for pa, pb in zip(a.parameters(), b.parameters()):
        torch.testing.assert_close(pa, pb.detach(), atol=1e-6, rtol=0)
    c = RBM(64, 32, generator=torch.Generator().manual_seed(1)).requires_grad_(True)  # negative control:
    c.cd_loss(v, k=2, generator=torch.Generator().manual_seed(3)).backward()         # another chain
    assert not torch.allclose(c.components_.grad, b.components_.grad)


def test_filters_get_one_colour_scale_each(tiny_rbm):
    rbm = tiny_rbm(V=64, H=3)
    rbm.components_[1] *= 100                                                # one strong unit, two weak ones
    fig = viz.plot_filters(rbm, n=3, nrow=3)
    lims = [ax.images[0].get_clim()[1] for ax in fig.axes if ax.images]
    assert lims == pytest.approx(rbm.components_.abs().amax(1).tolist())    # not all the strong unit's scale
    assert lims[1] > 50 * lims[0]


def test_log_partition_by_listing_every_state(tiny_rbm):
    from course_utils.models.rbm import all_states

    rbm = tiny_rbm(4, V=5, H=3)
    vs, hs = all_states(5), all_states(3)
    assert vs.shape == (32, 5) and len({tuple(x) for x in vs.tolist()}) == 32
    joint = -rbm.energy(vs.repeat_interleave(8, 0), hs.repeat(32, 1))         # every (v, h) pair
    torch.testing.assert_close(rbm.log_partition(), torch.logsumexp(joint, 0), atol=1e-5, rtol=0)
    assert torch.allclose(rbm.log_prob(vs).exp().sum(), torch.tensor(1.0), atol=1e-5)
    with pytest.raises(ValueError, match="out of reach"):
        RBM(64, 4).log_partition()


def test_fill_in_keeps_the_known_pixels_and_completes_the_rest():
    from course_utils import data, models

    rbm = models.load_pretrained("rbm-digits")
    digits = data.digits(binary=True)
    ex = widgets.fill_in(rbm, digits.images[:5], n_chains=4)
    known = ex.known_mask("top")
    assert known.sum() == 32 and known[:32].all()
    shown, filled = ex.fill(0, "top", 100)
    v = digits.images[0].reshape(-1)
    assert filled.shape == (4, 64) and torch.equal(filled[:, known], v[known].expand(4, -1))
    assert torch.all(shown[0, ~known] == 0.5)
    # the completed half is closer to the true digit than random bits are (a real fill-in, not noise)
    err = (filled[:, ~known] - v[~known]).abs().mean()
    _, untrained = widgets.fill_in(RBM(64, 256), digits.images[:5], n_chains=4).fill(0, "top", 100)
    assert err < 0.3 < (untrained[:, ~known] - v[~known]).abs().mean()      # negative control: no learning, no fill-in
    first = ex.image.value
    ex.half.value = "left"
    assert ex.image.value != first
    with pytest.raises(ValueError, match="half must be one of"):
        ex.known_mask("middle")
    with pytest.raises(ValueError, match="one True/False per pixel"):
        rbm.fill_in(v, torch.ones(10, dtype=torch.bool))


def test_describe_comparison_claims_only_what_every_seed_shows():
    from course_utils.models.rbm import describe_comparison

    def res(t_ours, t_sk, p_ours, p_sk):
        return {"ours": {"seconds_per_epoch": t_ours, "pll": p_ours},
                "scikit-learn": {"seconds_per_epoch": t_sk, "pll": p_sk}}

    text = describe_comparison(res([0.036] * 3, [0.019] * 3, [-17.0, -17.3, -16.7], [-16.1, -16.5, -16.3]))
    assert "scikit-learn was faster on every seed" in text and "scikit-learn scored higher" in text
    text = describe_comparison(res([0.02, 0.03, 0.02], [0.03, 0.02, 0.025], [-16.0, -17.0, -16.5], [-16.2, -16.8, -16.4]))
    assert "neither was clearly faster" in text and "cannot rank them" in text
    text = describe_comparison(res([0.01] * 3, [0.02] * 3, [-16.0] * 3, [-17.0] * 3))
    assert "ours was faster on every seed" in text and "ours scored higher" in text


def test_compare_with_sklearn_runs_both_on_every_seed():
    from course_utils import data
    from course_utils.models.rbm import compare_with_sklearn

    v = data.digits(binary=True).images.reshape(-1, 64)
    out = compare_with_sklearn(v[:200], v[200:260], seeds=(0, 1), epochs=2, n_hidden=16)
    for who in ("ours", "scikit-learn"):
        assert len(out[who]["seconds_per_epoch"]) == 2 and all(t > 0 for t in out[who]["seconds_per_epoch"])
        assert all(-64 < p < 0 for p in out[who]["pll"])
    assert out["ours"]["pll"][0] != out["ours"]["pll"][1]                     # the seeds differ


def test_tiny_states_figure():
    from course_utils.models.rbm import all_states

    states, p = all_states(9)[:4], torch.tensor([0.4, 0.3, 0.2, 0.1])
    fig = viz.plot_tiny_states(states, p)
    assert [ax.get_title() for ax in fig.axes] == ["0.400", "0.300", "0.200", "0.100"]
    with pytest.raises(ValueError, match="one probability each"):
        viz.plot_tiny_states(states, p[:3])
