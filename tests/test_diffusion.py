import pytest
import torch
from diffusers import DDIMScheduler, DDPMPipeline, DDPMScheduler

from course_utils.diffusion import ddim_sample, ddim_step, ddpm_sample
from course_utils.models import sample_diffusion
from course_utils.models.ddpm import SCHEDULER_CONFIG, make_unet
from course_utils.noise import make_schedule


def _tiny_unet():
    torch.manual_seed(0)
    unet = make_unet(block_out_channels=(8, 16, 16), norm_num_groups=4, sample_size=8)
    for p in unet.parameters():  # untrained but not trivial: a random, non-zero noise predictor
        torch.nn.init.normal_(p, std=0.05)
    return unet.eval()


def test_hand_written_ddpm_loop_gives_the_pipelines_images():
    unet = _tiny_unet()
    cfg = SCHEDULER_CONFIG | {"num_train_timesteps": 50}
    pipe = DDPMPipeline(unet=unet, scheduler=DDPMScheduler(**cfg))
    ref = pipe(batch_size=3, generator=torch.Generator().manual_seed(7), num_inference_steps=50,
               output_type="np").images  # (3, H, W, 1) in [0, 1]
    ours, record = ddpm_sample(unet, make_schedule("linear", 50), 3, torch.Generator().manual_seed(7),
                               record_every=10)
    ours = ((ours / 2 + 0.5).clamp(0, 1)).permute(0, 2, 3, 1).numpy()
    assert abs(ours - ref).max() < 1e-5
    assert [t for t, _, _ in record] == [49, 40, 30, 20, 10, 0]
    other, _ = ddpm_sample(unet, make_schedule("linear", 50), 3, torch.Generator().manual_seed(8))
    assert abs(((other / 2 + 0.5).clamp(0, 1)).permute(0, 2, 3, 1).numpy() - ref).max() > 0.01


def test_sample_diffusion_is_seeded_and_in_unit_range():
    unet = _tiny_unet()
    ddim = DDIMScheduler(**SCHEDULER_CONFIG)
    a = sample_diffusion(unet, ddim, 4, 5, torch.Generator().manual_seed(0))
    b = sample_diffusion(unet, ddim, 4, 5, torch.Generator().manual_seed(0))
    assert a.shape == (4, 1, 8, 8) and torch.equal(a, b) and 0 <= a.min() and a.max() <= 1


def _ddim_reference(eps, t, x, eta, seed, clip, steps=50, prediction_type="epsilon"):
    sched = DDIMScheduler(**(SCHEDULER_CONFIG | {"clip_sample": clip, "prediction_type": prediction_type}))
    sched.set_timesteps(steps)
    out = sched.step(eps, t, x, eta=eta, generator=torch.Generator().manual_seed(seed))
    return sched, out.prev_sample, out.pred_original_sample


@pytest.mark.parametrize("eta", [0.0, 0.5, 1.0])
@pytest.mark.parametrize("clip", [False, True])
@pytest.mark.parametrize("t", [980, 500, 20, 0])
def test_ddim_step_equals_diffusers_ddim_scheduler(eta, clip, t):
    g = torch.Generator().manual_seed(t)
    x, eps = 2 * torch.randn(2, 1, 8, 8, generator=g), torch.randn(2, 1, 8, 8, generator=g)
    sched, ref, ref_x0 = _ddim_reference(eps, t, x, eta, 3, clip)
    ours, x0 = ddim_step(eps, t, t - 20, x, sched.alphas_cumprod, eta, generator=torch.Generator().manual_seed(3),
                         clip_sample=clip)
    assert (ours - ref).abs().max() < 1e-5 and (x0 - ref_x0).abs().max() < 1e-5
    if t == 0:  # the last step lands on x0_pred whatever the schedule: no control to run
        return
    # negative control: the per-step alphas in place of their product give another update
    wrong, _ = ddim_step(eps, t, t - 20, x, sched.alphas, eta, generator=torch.Generator().manual_seed(3),
                         clip_sample=clip)
    assert (wrong - ref).abs().max() > 1e-3


def test_ddim_step_v_prediction_equals_diffusers():
    g = torch.Generator().manual_seed(0)
    x, v_out = torch.randn(2, 1, 8, 8, generator=g), torch.randn(2, 1, 8, 8, generator=g)
    sched, ref, _ = _ddim_reference(v_out, 500, x, 0.0, 0, False, prediction_type="v_prediction")
    ours, _ = ddim_step(v_out, 500, 480, x, sched.alphas_cumprod, prediction_type="v_prediction")
    assert (ours - ref).abs().max() < 1e-5
    as_eps, _ = ddim_step(v_out, 500, 480, x, sched.alphas_cumprod)  # negative control: read as epsilon
    assert (as_eps - ref).abs().max() > 1e-2


@pytest.mark.parametrize("set_alpha_to_one", [True, False])
def test_ddim_steps_last_jump_lands_where_the_schedulers_config_says(set_alpha_to_one):
    """Below t = 0 abar is 1 (DDIMScheduler's default) or abar_0 (set_alpha_to_one=False, unet-shapes' config)."""
    from course_utils.models.unet_shapes import SCHEDULER_CONFIG as SHAPES_CONFIG

    sched = DDIMScheduler(**(SHAPES_CONFIG | {"set_alpha_to_one": set_alpha_to_one}))
    sched.set_timesteps(25)
    t = int(sched.timesteps[-1])                                    # 39: the last jump goes to 39 - 40 < 0
    g = torch.Generator().manual_seed(1)
    x, v_out = torch.randn(2, 4, 8, 8, generator=g), torch.randn(2, 4, 8, 8, generator=g)
    ref = sched.step(v_out, t, x).prev_sample
    from_config, _ = ddim_step(v_out, t, t - 40, x, sched, prediction_type="v_prediction")
    told, _ = ddim_step(v_out, t, t - 40, x, sched.alphas_cumprod, prediction_type="v_prediction",
                        set_alpha_to_one=set_alpha_to_one)
    assert (from_config - ref).abs().max() < 1e-5 and (told - ref).abs().max() < 1e-5
    # negative control: the other end (abar = 1 was the only one before) lands elsewhere
    other, _ = ddim_step(v_out, t, t - 40, x, sched.alphas_cumprod, prediction_type="v_prediction",
                         set_alpha_to_one=not set_alpha_to_one)
    assert (other - ref).abs().max() > 1e-2
    default, _ = ddim_step(v_out, t, t - 40, x, sched.alphas_cumprod, prediction_type="v_prediction")
    assert torch.equal(default, told if set_alpha_to_one else other)  # a bare tensor: DDIMScheduler's default, 1


def test_ddim_sample_follows_a_schedulers_set_alpha_to_one():
    unet = _tiny_unet()
    sd_betas = {"beta_schedule": "scaled_linear", "beta_start": 0.00085, "beta_end": 0.012}   # abar_0 = 0.99915
    sched = DDIMScheduler(**(SCHEDULER_CONFIG | sd_betas | {"set_alpha_to_one": False}))
    ref = sample_diffusion(unet, sched, 3, 10, torch.Generator().manual_seed(5))
    ours = ddim_sample(unet, sched, 3, 10, generator=torch.Generator().manual_seed(5))
    assert ((ours.clamp(-1, 1) + 1) / 2 - ref).abs().max() < 1e-5
    as_one = ddim_sample(unet, sched.alphas_cumprod, 3, 10, generator=torch.Generator().manual_seed(5))
    assert (as_one - ours).abs().max() > 1e-3   # negative control: the clean end at abar = 1 instead


def test_ddim_sample_gives_the_schedulers_images_and_eta0_is_deterministic():
    unet = _tiny_unet()
    abar = make_schedule("linear").alphas_cumprod
    ref = sample_diffusion(unet, DDIMScheduler(**SCHEDULER_CONFIG), 3, 10, torch.Generator().manual_seed(5))
    ours = ddim_sample(unet, abar, 3, 10, generator=torch.Generator().manual_seed(5))
    assert ((ours.clamp(-1, 1) + 1) / 2 - ref).abs().max() < 1e-5
    noisy = ddim_sample(unet, abar, 3, 10, eta=1.0, generator=torch.Generator().manual_seed(5))
    assert (noisy - ours).abs().max() > 1e-3  # eta = 1 draws fresh noise at each step


def test_ddim_inversion_with_eta0_goes_up_and_back():
    abar = make_schedule("linear").alphas_cumprod
    x0 = torch.rand(1, 1, 8, 8) * 2 - 1
    eps = torch.randn(1, 1, 8, 8, generator=torch.Generator().manual_seed(0))
    x_t = abar[600].sqrt() * x0 + (1 - abar[600]).sqrt() * eps
    up, _ = ddim_step(eps, 600, 800, x_t, abar)  # the same formula, run upwards
    assert torch.allclose(up, abar[800].sqrt() * x0 + (1 - abar[800]).sqrt() * eps, atol=1e-5)


@pytest.mark.parametrize("kwargs, words", [
    ({"t": 1000}, "t must be"), ({"t_prev": 2000}, "t_prev"), ({"eta": -0.1}, "eta"),
    ({"eta": 0.5, "t_prev": 600}, "go down"), ({"prediction_type": "sample"}, "prediction_type"),
    ({"sample": torch.zeros(1, 1, 4, 4)}, "shape of sample"),
])
def test_ddim_step_refuses_bad_arguments_by_name(kwargs, words):
    args = dict(model_output=torch.zeros(1, 1, 8, 8), t=500, t_prev=480, sample=torch.zeros(1, 1, 8, 8),
                alphas_cumprod=make_schedule("linear").alphas_cumprod) | kwargs
    with pytest.raises(ValueError, match=words):
        ddim_step(**args)


def test_ddim_sample_and_clip_sample_refuse_bad_arguments_by_name():
    with pytest.raises(TypeError, match="unet must be"):
        ddim_sample(None, make_schedule("linear"), 2, 5)
    with pytest.raises(TypeError, match="clip_sample"):
        ddim_step(torch.zeros(1, 1, 8, 8), 5, 1, torch.zeros(1, 1, 8, 8), make_schedule("linear").alphas_cumprod,
                  clip_sample="yes")
    with pytest.raises(TypeError, match="set_alpha_to_one"):
        ddim_step(torch.zeros(1, 1, 8, 8), 5, 1, torch.zeros(1, 1, 8, 8), make_schedule("linear").alphas_cumprod,
                  set_alpha_to_one="no")
