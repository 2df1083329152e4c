import torch
from diffusers import DDIMScheduler, DDPMPipeline, DDPMScheduler

from course_utils.diffusion import ddpm_sample
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
