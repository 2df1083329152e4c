"""Rebuild the `flow-digits` checkpoint of lesson 07 from scratch, with a fixed seed.

    python scripts/train_flow_digits.py                              # the shipped settings
    python scripts/train_flow_digits.py --resume                     # go on from runs/flow-digits/state
    torchrun --nproc_per_node 2 scripts/train_flow_digits.py         # 2 CPU processes, gradients synchronised

The same diffusers UNet2DModel, data and optimiser as `ddpm-digits` (lesson 03; the shared
set-up is `train_digits_unet` in scripts/train_ddpm_digits.py), trained with the rectified-flow
objective of course_utils.flow: predict the velocity eps - x0 along the straight line between a
digit and its noise, for as many steps (4,000) as ddpm-digits, so that lesson 07 compares the two
on equal training. The EMA weights are saved (safetensors) into assets/checkpoints/flow-digits."""

from __future__ import annotations

from train_ddpm_digits import train_digits_unet

from course_utils.flow import flow_loss, unet_velocity


def main(argv=None):
    train_digits_unet("flow-digits", __doc__, 4000, lambda unet, x0, g: flow_loss(unet_velocity(unet), x0, generator=g),
                      lambda unet, tmp: unet.save_pretrained(tmp, safe_serialization=True), argv,
                      objective="rectified flow, velocity eps - x0")


if __name__ == "__main__":
    main()
