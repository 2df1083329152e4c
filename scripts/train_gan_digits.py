"""Rebuild the `gan-digits` checkpoint of lesson 02 from scratch, with a fixed seed.

    python scripts/train_gan_digits.py                              # 10,000 steps
    torchrun --nproc_per_node 2 scripts/train_gan_digits.py         # 2 CPU processes, gradients synchronised

The MLP generator and discriminator of course_utils/models/gan.py on scikit-learn's digits in
[-1, 1]: non-saturating loss, real label 0.9, Adam 2e-4 with betas (0.5, 0.999), batch 64. It
trains through the course's one training driver, so both players step at once on
`gan.simultaneous_loss` (lesson 02's `train_gan` alternates a D step and a G step, as
Goodfellow et al.'s Algorithm 1 does; the shipped weights came from that alternating loop).
Snapshots of 16 fixed z every 250 steps ship with the checkpoint (the lesson's slider)."""

from __future__ import annotations

import json

import torch
from safetensors.torch import save_file
from torch import nn

from course_utils import data
from course_utils.models.gan import (
    Z_DIM,
    generate,
    make_discriminator,
    make_generator,
    simultaneous_loss,
)
from course_utils.train import fit, parse_training_args, training_parser


def main(argv=None):
    p = training_parser("gan-digits", __doc__, steps=10_000, lr=2e-4, batch_size=64, threads=1)
    args = parse_training_args(p, argv)
    x = data.digits().images.reshape(-1, 64) * 2 - 1                       # (1797, 64) in [-1, 1]
    pair = nn.ModuleDict({"G": make_generator(), "D": make_discriminator()})
    fixed_z = torch.randn(16, Z_DIM, generator=torch.Generator().manual_seed(1234))
    snapshots = [(0, generate(pair["G"], fixed_z))]

    def draw(gen, step):
        return x[torch.randint(0, len(x), (args.batch_size,), generator=gen)]

    def write(model, tmp):
        for part, name in (("G", "generator"), ("D", "discriminator")):
            save_file({k: v.contiguous() for k, v in model[part].state_dict().items()}, str(tmp / f"{name}.safetensors"))
        save_file({"images": torch.stack([s for _, s in snapshots]).contiguous(),
                   "steps": torch.tensor([k for k, _ in snapshots]), "z": fixed_z}, str(tmp / "snapshots.safetensors"))
        (tmp / "config.json").write_text(json.dumps({"z_dim": Z_DIM, "hidden": 256, "dropout": 0.2}, indent=1))

    fit(pair, simultaneous_loss, draw, args.steps, lr=args.lr, betas=(0.5, 0.999), name="gan-digits", out=args.out,
        write_weights=write, state=args.state, resume_run=args.resume, seed=args.seed, every=250,
        callback=lambda step, losses, m: snapshots.append((step, generate(m["G"], fixed_z))),
        settings={"batch_size": args.batch_size, "real_label": 0.9, "updates": "simultaneous", "betas": [0.5, 0.999],
                  "weight_decay": 0.0})


if __name__ == "__main__":
    main()
