"""Rebuild the `ddpm-digits` checkpoint of lesson 03 from scratch, with a fixed seed.

    python scripts/train_ddpm_digits.py                              # the shipped settings
    python scripts/train_ddpm_digits.py --resume                     # go on from runs/ddpm-digits/state
    torchrun --nproc_per_node 2 scripts/train_ddpm_digits.py         # 2 CPU processes, gradients synchronised

A diffusers UNet2DModel learns to predict the noise added to scikit-learn's digits
(upsampled 8x8 -> 16x16), 1000-step linear schedule, AdamW, EMA of the weights. The EMA
weights are saved as a DDPMPipeline (safetensors) into assets/checkpoints/ddpm-digits.
`train_digits_unet` is shared with scripts/train_flow_digits.py: only the loss differs."""

from __future__ import annotations

import torch

from course_utils import data
from course_utils.images import to_signed
from course_utils.models.ddpm import SCHEDULER_CONFIG, ddpm_loss, make_unet
from course_utils.noise import make_schedule
from course_utils.train import fit, parse_training_args, training_parser


def train_digits_unet(name: str, doc: str, steps: int, loss, write_weights, argv=None, **settings):
    """The digits UNet2DModel, trained by `loss(unet, x0, generator)` on random batches of digits."""
    p = training_parser(name, doc, steps=steps, lr=1e-3, batch_size=128)
    p.add_argument("--ema", type=float, default=0.995)
    args = parse_training_args(p, argv)
    x_all = to_signed(data.digits(16).images)                       # (1797, 1, 16, 16) in [-1, 1]

    def draw(gen, step):
        return x_all[torch.randint(0, len(x_all), (args.batch_size,), generator=gen)]

    return fit(make_unet(), loss, draw, args.steps, lr=args.lr, name=name, out=args.out,
               write_weights=write_weights, state=args.state, resume_run=args.resume, ema_decay=args.ema,
               warmup=100, floor=0.1, seed=args.seed, settings={"batch_size": args.batch_size, **settings})


def main(argv=None):
    from diffusers import DDPMPipeline, DDPMScheduler

    schedule = make_schedule("linear", 1000)

    def write(unet, tmp):
        DDPMPipeline(unet=unet, scheduler=DDPMScheduler(**SCHEDULER_CONFIG)).save_pretrained(tmp, safe_serialization=True)

    train_digits_unet("ddpm-digits", __doc__, 4000, lambda unet, x0, g: ddpm_loss(unet, x0, schedule, generator=g),
                      write, argv, objective="DDPM, noise prediction")


if __name__ == "__main__":
    main()
