import itertools

import numpy as np
import pytest
import torch
from sklearn.neural_network import BernoulliRBM

from course_utils import viz, widgets
from course_utils.models.rbm import RBM


def _tiny(seed=0, V=4, H=3):
    g = torch.Generator().manual_seed(seed)
    rbm = RBM(V, H, init_std=1.0, generator=g)
    rbm.intercept_hidden_.copy_(torch.randn(H, generator=g))
    rbm.intercept_visible_.copy_(torch.randn(V, generator=g))
    return rbm


def _all_states(n):
    return torch.tensor(list(itertools.product([0.0, 1.0], repeat=n)))


def test_free_energy_is_the_energy_with_h_summed_out():
    rbm = _tiny()
    vs, hs = _all_states(4), _all_states(3)
    for v in vs:
        energies = rbm.energy(v.expand(len(hs), -1), hs)                  # E(v, h) for every h
        assert torch.allclose(rbm.free_energy(v[None]), -torch.logsumexp(-energies, 0), atol=1e-5)


def test_conditionals_match_the_joint_distribution():
    rbm = _tiny(1)
    vs, hs = _all_states(4), _all_states(3)
    v = vs[5]
    joint = torch.exp(-rbm.energy(v.expand(len(hs), -1), hs))              # p(v, h) up to Z, for every h
    p_h1 = (joint[:, None] * hs).sum(0) / joint.sum()                      # p(h_j = 1 | v) by brute force
    assert torch.allclose(rbm.p_h(v[None])[0], p_h1, atol=1e-5)
    h = hs[3]
    joint_v = torch.exp(-rbm.energy(vs, h.expand(len(vs), -1)))
    assert torch.allclose(rbm.p_v(h[None])[0], (joint_v[:, None] * vs).sum(0) / joint_v.sum(), atol=1e-5)


def test_same_numbers_as_scikit_learn_for_the_same_parameters():
    rbm = _tiny(2, V=64, H=16)
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


def test_sampling_is_seeded_and_recorded():
    rbm = _tiny(3, V=64, H=16)
    a = rbm.sample(5, steps=20, generator=torch.Generator().manual_seed(0))
    b, record = rbm.sample(5, steps=20, generator=torch.Generator().manual_seed(0), record_every=5)
    assert a.shape == (5, 64) and torch.equal(a, b) and len(record) == 5
    assert 0 <= a.min() and a.max() <= 1


def test_bad_input_gets_a_clear_error():
    rbm = _tiny(V=64, H=8)
    with pytest.raises(ValueError, match="only 0s and 1s"):
        rbm.fit(torch.rand(20, 64), epochs=1)
    with pytest.raises(ValueError, match=r"\(N, 64\)"):
        rbm.pseudo_log_likelihood(torch.ones(3, 63))
    assert rbm.pseudo_log_likelihood(torch.ones(3, 1, 8, 8)).shape == (3,)  # images are accepted


def test_rbm_figures_and_gibbs_widget():
    rbm = _tiny(V=64, H=20)
    assert len([a for a in viz.plot_filters(rbm, n=20).axes if a.images]) == 20
    v = (torch.rand(30, 64) < 0.5).float()
    assert viz.plot_free_energy(rbm, {"a": v, "b": 1 - v}).axes[0].get_legend() is not None
    _, rec = rbm.sample(3, steps=4, record_every=1)
    assert viz.plot_gibbs_chain(rec, list(range(4)), n_show=3).axes
    ex = widgets.gibbs_explorer(rbm, n=3, steps=10)
    first = ex.image.value
    ex.step.value = 9
    assert len(ex.frames) == 10 and ex.image.value != first


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
