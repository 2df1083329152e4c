"""Rebuild the `vae-shapes` checkpoint (lessons 05-06) from scratch, with a fixed seed.

    python scripts/train_vae_shapes.py                  # the shipped settings
    python scripts/train_vae_shapes.py --resume         # go on from runs/vae-shapes/state
    torchrun --nproc_per_node 2 scripts/train_vae_shapes.py   # 2 CPU processes, gradients synchronised
    python scripts/train_vae_shapes.py --steps 3 --scaling-scenes 64 --out /tmp/vae --state /tmp/vae.state.safetensors
                                                        # a smoke run (CONTRIBUTING.md, "Smoke runs")

An AutoencoderKL (64x64x3 <-> 8x8x4) learns to reconstruct Shapes World scenes (seed 0, an
endless stream: no scene is seen twice), with MSE + 1e-6 KL. Every --eval-every steps it
prints the PSNR on 256 scenes it never trains on (seed 1). At the end it measures the latent
scaling factor (1 / std of the latents, as Stable Diffusion's 0.18215 was) and saves the
model as safetensors into assets/checkpoints/vae-shapes."""

from __future__ import annotations

import torch

from course_utils import data
from course_utils.images import to_signed
from course_utils.models.vae import make_vae, psnr, vae_loss
from course_utils.train import fit, parse_training_args, training_parser

EVAL_SEED = 1  # scenes of seed 1 are never used for training (seed 0)


@torch.no_grad()
def evaluate(vae, n: int = 256, seed: int = EVAL_SEED, batch: int = 64) -> float:
    vae.eval()
    scores = []
    for start in range(0, n, batch):
        x = data.shapes_world(min(batch, n - start), seed=seed, start=start).images
        recon = vae.decode(vae.encode(to_signed(x)).latent_dist.mode()).sample
        scores.append(psnr(((recon + 1) / 2).clamp(0, 1), x))
    vae.train()
    return torch.cat(scores).mean().item()


@torch.no_grad()
def scaling_factor(vae, n: int = 1024, seed: int = EVAL_SEED) -> float:
    x = to_signed(data.shapes_world(n, seed=seed).images)
    z = torch.cat([vae.encode(x[i:i + 128]).latent_dist.sample(generator=torch.Generator().manual_seed(i))
                   for i in range(0, n, 128)])
    return 1.0 / z.std().item()


def main(argv=None):
    p = training_parser("vae-shapes", __doc__, steps=10000, lr=2e-3, batch_size=16)
    p.add_argument("--eval-every", type=int, default=1000, help="steps between PSNR measurements on 256 unseen scenes")
    p.add_argument("--scaling-scenes", type=int, default=1024,
                   help="unseen scenes encoded at the end to measure the latent scaling factor (a smoke run wants few)")
    args = parse_training_args(p, argv)
    history = []  # (step, PSNR on unseen scenes)

    def draw(gen, step):  # a random stretch of the endless stream: no scene is seen twice (in practice)
        start = int(torch.randint(0, 2**40, (1,), generator=gen))
        return to_signed(data.shapes_world(args.batch_size, seed=args.seed, start=start).images)

    def evaluation(step, losses, vae):
        history.append((step, round(evaluate(vae), 2)))
        print(f"\nstep {step}: PSNR {history[-1][1]:.2f} dB on unseen scenes", flush=True)

    def finish(vae):
        vae.eval()
        factor = scaling_factor(vae, args.scaling_scenes)
        vae.register_to_config(scaling_factor=factor)
        return {"psnr_unseen_256": history, "scaling_factor": factor}

    fit(make_vae(), lambda vae, x, g: vae_loss(vae, x, generator=g)[0], draw, args.steps, lr=args.lr,
        name="vae-shapes", out=args.out, write_weights=lambda vae, tmp: vae.save_pretrained(tmp, safe_serialization=True),
        state=args.state, resume_run=args.resume, warmup=200, floor=0.05, clip=1.0, seed=args.seed,
        every=args.eval_every, callback=evaluation, finish=finish,
        settings={"batch_size": args.batch_size, "loss": "MSE + 1e-6 KL", "scaling_scenes": args.scaling_scenes})


if __name__ == "__main__":
    main()
