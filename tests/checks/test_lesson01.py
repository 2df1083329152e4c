"""Lesson 01's checkers (course_utils/checks/lesson01.py)."""

import torch

from course_utils import checks


def test_free_energy_and_gibbs_step_checkers(capsys):
    import torch.nn.functional as F

    def fe(v, W, b, c):
        return -(v @ b) - F.softplus(v @ W.T + c).sum(1)

    assert checks.check_free_energy(fe)
    assert not checks.check_free_energy(lambda v, W, b, c: -fe(v, W, b, c))
    assert "sign is flipped" in capsys.readouterr().out

    def step(rbm, v, u_h, u_v):
        h = (u_h < rbm.p_h(v)).float()
        return (u_v < rbm.p_v(h)).float()

    assert checks.check_gibbs_step(step)
    assert not checks.check_gibbs_step(lambda rbm, v, u_h, u_v: rbm.p_v((u_h < rbm.p_h(v)).float()))
    assert "samples" in capsys.readouterr().out


def test_cd1_update_and_probability_ratio_checkers(tiny_rbm, capsys):
    def cd1(rbm, v, u_h, u_v):
        ph_data = rbm.p_h(v)
        v_model = (u_v < rbm.p_v((u_h < ph_data).float())).float()
        ph_model = rbm.p_h(v_model)
        return ((ph_data.T @ v - ph_model.T @ v_model) / len(v), (v - v_model).sum(0) / len(v),
                (ph_data - ph_model).sum(0) / len(v))

    assert checks.check_cd1_update(cd1)
    assert not checks.check_cd1_update(lambda *a: tuple(-x for x in cd1(*a)))
    assert "wrong sign" in capsys.readouterr().out
    assert not checks.check_cd1_update(lambda *a: (cd1(*a)[0] * 5, *cd1(*a)[1:]))
    assert "B times too big" in capsys.readouterr().out
    rbm = tiny_rbm(V=64, H=8)
    a, b = torch.zeros(64), torch.ones(64)
    ratio = float(torch.exp(rbm.free_energy(b[None]) - rbm.free_energy(a[None])))
    assert checks.check_probability_ratio(ratio, rbm, a, b)
    assert not checks.check_probability_ratio(1 / ratio, rbm, a, b)
    assert "upside down" in capsys.readouterr().out
    assert not checks.check_probability_ratio(None, rbm, a, b)


def test_probability_ratio_names_an_overflowed_exp_and_says_subtract_first(tiny_rbm, capsys):
    rbm = tiny_rbm(V=64, H=8)
    rbm.intercept_visible_.fill_(3.0)                  # F(all ones) is about -200, as for lesson 01's digit
    a, b = torch.ones(64), torch.ones(64)
    b[:8] = 0                                          # F(b) is about -180: both exp(-F) overflow float32
    naive = torch.exp(-rbm.free_energy(a[None])) / torch.exp(-rbm.free_energy(b[None]))
    assert torch.isnan(naive).all()
    for answer in (naive, naive.item(), naive.numpy()):
        assert not checks.check_probability_ratio(answer, rbm, a, b)
        assert "Subtract first" in capsys.readouterr().out
    one_side = torch.exp(-rbm.free_energy(b[None])) / torch.exp(-rbm.free_energy(a[None]))   # finite / inf = 0
    assert not checks.check_probability_ratio(one_side, rbm, a, b)
    assert "Subtract first" in capsys.readouterr().out
    assert checks.check_probability_ratio(torch.exp(rbm.free_energy(b[None]) - rbm.free_energy(a[None])), rbm, a, b)
    # negative control: where nothing can overflow, a nan gets the general message
    small = tiny_rbm(V=64, H=8)
    assert not checks.check_probability_ratio(float("nan"), small, torch.zeros(64), torch.ones(64))
    assert "Subtract first" not in capsys.readouterr().out
