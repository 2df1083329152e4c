"""course_utils.lcm: the pieces of latent consistency distillation, against diffusers' LCMScheduler."""

import copy

import pytest
import torch
from diffusers import LCMScheduler

from course_utils import lcm
from course_utils.finetune import add_lora
from course_utils.models.unet_shapes import SCHEDULER_CONFIG, make_unet, training_schedule


def _scheduler():
    return LCMScheduler.from_config(dict(SCHEDULER_CONFIG))


def test_the_boundary_condition_is_lcmschedulers_and_the_identity_at_t_0():
    s = _scheduler()
    t = torch.tensor([0, 1, 5, 19, 259, 999])
    c_skip, c_out = lcm.boundary(t)
    for i, step in enumerate(t.tolist()):
        ref = s.get_scalings_for_boundary_condition_discrete(step)
        assert float(c_skip[i]) == pytest.approx(float(ref[0]), rel=1e-6, abs=1e-9)
        assert float(c_out[i]) == pytest.approx(float(ref[1]), rel=1e-6, abs=1e-9)
    assert (float(c_skip[0]), float(c_out[0])) == (1.0, 0.0)
    assert float(c_skip[-1]) < 1e-6 and float(c_out[-1]) > 0.999


def test_the_solver_grid_is_the_one_lcmscheduler_samples_from():
    grid = lcm.solver_timesteps(1000, 50)
    assert grid[:3].tolist() == [19, 39, 59] and int(grid[-1]) == 999 and len(grid) == 50
    s = _scheduler()
    for k in (1, 2, 4, 8):
        s.set_timesteps(k)
        assert set(s.timesteps.tolist()) <= set(grid.tolist()), k


@pytest.mark.parametrize("kind", ["v_prediction", "epsilon"])
def test_x0_and_eps_recover_what_made_the_output(kind):
    g = torch.Generator().manual_seed(0)
    x0, eps = torch.randn(3, 4, 8, 8, generator=g), torch.randn(3, 4, 8, 8, generator=g)
    abar = torch.tensor([0.9, 0.3, 0.01]).reshape(3, 1, 1, 1)
    x_t = abar.sqrt() * x0 + (1 - abar).sqrt() * eps
    out = abar.sqrt() * eps - (1 - abar).sqrt() * x0 if kind == "v_prediction" else eps
    got_x0, got_eps = lcm.x0_and_eps(out, x_t, abar, kind)
    assert torch.allclose(got_x0, x0, atol=1e-4) and torch.allclose(got_eps, eps, atol=1e-4)
    with pytest.raises(ValueError, match="prediction_type"):
        lcm.x0_and_eps(out, x_t, abar, "sample")


def test_the_target_at_t_0_is_the_point_itself_and_later_the_x0_guess():
    x = torch.randn(2, 4, 8, 8)
    out = torch.randn(2, 4, 8, 8)
    abar = torch.tensor([0.999, 0.2]).reshape(2, 1, 1, 1)
    aim = lcm.consistency_target(x, out, torch.tensor([0, 999]), abar)
    assert torch.allclose(aim[0], x[0])
    x0_hat, _ = lcm.x0_and_eps(out, x, abar)
    assert torch.allclose(aim[1], x0_hat[1], atol=1e-5)


def test_huber_is_zero_on_equal_and_about_the_distance_far_away():
    a = torch.zeros(10)
    assert float(lcm.huber(a, a)) == 0.0
    assert float(lcm.huber(a, a + 3)) == pytest.approx(3.0, abs=1e-3)


def test_update_target_moves_only_the_trained_weights_by_the_decay():
    student = torch.nn.Sequential(torch.nn.Linear(3, 3), torch.nn.Linear(3, 3))
    student[0].requires_grad_(False)
    target = copy.deepcopy(student)
    with torch.no_grad():
        for p in student.parameters():
            p.add_(1.0)
    before = [p.clone() for p in target.parameters()]
    lcm.update_target(target, student, 0.75)
    after = list(target.parameters())
    assert torch.equal(after[0], before[0])                                  # frozen in the student: untouched
    assert torch.allclose(after[2], before[2] + 0.25)                        # trained: a quarter of the way
    with pytest.raises(ValueError):
        lcm.update_target(target, student, 1.5)


def _tiny():
    torch.manual_seed(0)
    return make_unet(block_out_channels=(32, 32), norm_num_groups=8, cross_attention_dim=16, attention_head_dim=4)


def test_the_loss_trains_only_the_lora_and_falls_on_a_fixed_batch():
    teacher = _tiny().requires_grad_(False)
    student = copy.deepcopy(teacher)
    add_lora(student, rank=4)
    target = copy.deepcopy(student).requires_grad_(False)
    schedule = training_schedule()
    g = torch.Generator().manual_seed(1)
    x0, ctx, null = torch.randn(8, 4, 8, 8, generator=g), torch.randn(8, 5, 16, generator=g), torch.zeros(1, 5, 16)
    opt = torch.optim.Adam([p for p in student.parameters() if p.requires_grad], lr=3e-3)
    losses = []
    for _ in range(25):
        loss = lcm.consistency_loss(student, teacher, target, x0, ctx, null, schedule,
                                    torch.Generator().manual_seed(2), guidance_scale=2.0)
        opt.zero_grad()
        loss.backward()
        trained = {n for n, p in student.named_parameters() if p.grad is not None}
        assert trained and all("lora" in n for n in trained)
        assert all(p.grad is None for p in teacher.parameters()) and all(p.grad is None for p in target.parameters())
        opt.step()
        lcm.update_target(target, student, 0.5)
        losses.append(float(loss.detach()))
    assert losses[-1] < 0.7 * losses[0], losses
