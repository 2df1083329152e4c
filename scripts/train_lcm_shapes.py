"""Rebuild `lcm-shapes` (lesson 07): latent consistency distillation of `unet-shapes` into a LoRA, so
that 4 steps of diffusers' LCMScheduler draw what 25 guided DDIM steps draw. The adapter belongs to
the U-Net it was distilled from: when a new unet-shapes ships, run this again and re-measure
(`python scripts/evaluate_checkpoints.py lcm-shapes`).

    python scripts/train_lcm_shapes.py                                 # the shipped adapter, from the shipped U-Net
    torchrun --nproc_per_node 2 scripts/train_lcm_shapes.py ...        # 2 CPU processes, gradients synchronised
    python scripts/train_lcm_shapes.py --steps 3 --scenes 64 --out /tmp/lcm --state /tmp/lcm.state.safetensors \\
        --cache /tmp/lcm-cache                                         # a smoke run (CONTRIBUTING.md, "Smoke runs")

The teacher is the U-Net and VAE given (the shipped ones by default), frozen; the student is the
same U-Net with a PEFT LoRA on its attention projections and resnet convolutions (finetune.unet_adapters.add_lora);
the target network is an EMA of the student (lcm.update_target). The loss is
course_utils/lcm.py's consistency_loss: the teacher's guided DDIM step over 20 timesteps (the
50-step grid LCMScheduler samples from), pseudo-Huber between the student's and the target's
boundary-conditioned guesses of the trajectory's end. Training scenes are Shapes World's seed 0
stream (the U-Net's own training data: the prompts of the card are never among them), one
"varied" caption each, rendered, encoded and cached once. The adapter is written as diffusers
LoRA weights (pytorch_lora_weights.safetensors) with training_log.json; pipelines load it with
`load_lora_weights` and an LCMScheduler (models.load_pretrained("lcm-shapes"))."""

from __future__ import annotations

import argparse
import copy
import hashlib
import json
from pathlib import Path

import numpy as np
import torch
from safetensors.torch import load_file, save_file

from course_utils import data, shapes
from course_utils.finetune.unet_adapters import CONV_TARGETS, LORA_TARGETS, add_lora, save_lora
from course_utils.lcm import consistency_loss, update_target
from course_utils.models.unet_shapes import encode_prompts, training_schedule
from course_utils.paths import CHECKPOINTS, ROOT
from course_utils.train import atomic_file, fit


def prepared(args) -> tuple[dict, torch.Tensor]:
    """Scaled latents and caption embeddings of --scenes training scenes (cached under --cache), and the "" context."""
    from course_utils.models.vae import encode
    from course_utils.models.vae import load as load_vae
    from course_utils.pipelines import course_text_encoder

    vae = load_vae(args.vae)
    tokenizer, text_encoder = course_text_encoder("cpu")        # copies: text's cached pair stays as it was
    null = encode_prompts(tokenizer, text_encoder, [""])
    vae_key = hashlib.sha1((args.vae / "diffusion_pytorch_model.safetensors").read_bytes()).hexdigest()[:10]
    path = args.cache / f"lcm-{args.scenes}-{args.two_object_fraction}-{args.seed}-vae{vae_key}.safetensors"
    if not path.exists():
        scenes = [data.shapes_scene(args.seed, i, args.two_object_fraction, "varied") for i in range(args.scenes)]
        latents, contexts = [], []
        for start in range(0, len(scenes), 256):
            chunk = scenes[start:start + 256]
            images = torch.from_numpy(np.stack([shapes.render_scene(s) for s in chunk])).permute(0, 3, 1, 2).float() / 255
            latents.append(encode(vae, images))
            contexts.append(encode_prompts(tokenizer, text_encoder, [s.caption for s in chunk]).half())
        tensors = {"latents": torch.cat(latents), "contexts": torch.cat(contexts)}
        atomic_file(path, lambda p: save_file({k: t.contiguous() for k, t in tensors.items()}, str(p)))
    d = load_file(str(path))
    return {"latents": d["latents"] * vae.config.scaling_factor, "contexts": d["contexts"]}, null


def parser():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--teacher", type=Path, default=CHECKPOINTS / "unet-shapes", help="the U-Net folder to distil")
    p.add_argument("--vae", type=Path, default=CHECKPOINTS / "vae-shapes", help="the VAE the teacher was trained on")
    p.add_argument("--steps", type=int, default=1200)
    p.add_argument("--batch-size", type=int, default=32, help="per process")
    p.add_argument("--lr", type=float, default=5e-4)
    p.add_argument("--warmup", type=int, default=100)
    p.add_argument("--rank", type=int, default=16)
    p.add_argument("--guidance", type=float, default=3.0, help="the teacher's guidance scale (plain CFG's best w on the selection set, its card's chosen.cfg_guidance)")
    p.add_argument("--ddim-steps", type=int, default=50, help="the teacher's grid: it steps over 1000 / this timesteps")
    p.add_argument("--target-ema", type=float, default=0.95, help="the target network's EMA decay (0: the student itself)")
    p.add_argument("--scenes", type=int, default=8000)
    p.add_argument("--two-object-fraction", type=float, default=0.5)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    p.add_argument("--cache", type=Path, default=ROOT / "runs" / "cache")
    p.add_argument("--state", type=Path, default=ROOT / "runs" / "lcm-shapes-state.safetensors")
    p.add_argument("--resume", action="store_true")
    p.add_argument("--save-every", type=int, default=250)
    p.add_argument("--out", type=Path, default=CHECKPOINTS / "lcm-shapes")
    return p


def main(argv=None):
    from course_utils.models.unet_shapes import load as load_unet

    args = parser().parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    d, null = prepared(args)
    schedule = training_schedule()
    teacher = load_unet(args.teacher, "cpu").requires_grad_(False)
    student = load_unet(args.teacher, "cpu")
    add_lora(student, rank=args.rank, targets=LORA_TARGETS + CONV_TARGETS)       # only the LoRA trains
    target = copy.deepcopy(student).requires_grad_(False)

    def draw(gen, step):
        idx = torch.randint(0, len(d["latents"]), (args.batch_size,), generator=gen)
        return d["latents"][idx], d["contexts"][idx].float()

    def loss(model, batch, gen):
        update_target(target, model, args.target_ema)                # the EMA of the student up to the last step
        x0, context = batch
        return consistency_loss(model, teacher, target, x0, context, null.to(context), schedule, gen,
                                guidance_scale=args.guidance, ddim_steps=args.ddim_steps)

    settings = {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()
                if k not in ("resume", "out", "state", "cache")}
    settings["teacher_training_log"] = (json.loads((args.teacher / "training_log.json").read_text())
                                        if (args.teacher / "training_log.json").exists() else None)
    fit(student, loss, draw, args.steps, lr=args.lr, name="lcm-shapes", out=args.out,
        write_weights=lambda m, tmp: save_lora(m, tmp), state=args.state, resume_run=args.resume,
        warmup=args.warmup, weight_decay=0.0, clip=1.0, seed=args.seed, save_every=args.save_every,
        settings=settings)


if __name__ == "__main__":
    main()
