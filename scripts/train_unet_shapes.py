"""Rebuild the `unet-shapes` checkpoint (lesson 06), with a fixed seed.

    OMP_NUM_THREADS=1 torchrun --nproc_per_node 2 scripts/train_unet_shapes.py --threads 1   # v4 as it shipped:
                                                                          # 2 CPU processes, gradients synchronised
    python scripts/train_unet_shapes.py                                   # the same recipe on one process
    accelerate launch scripts/train_unet_shapes.py ...                    # several GPUs
    python scripts/train_unet_shapes.py ... --resume --steps N            # go on from --state, up to step N
    python scripts/train_unet_shapes.py ... --restart-from assets/in_progress/unet-shapes-v4   # state lost: write one
                                                                          # from the committed snapshot, then --resume
    python scripts/train_unet_shapes.py --steps 3 --scenes 64 --out /tmp/unet/out --state /tmp/unet/state.safetensors \\
        --cache /tmp/unet/cache --snapshot /tmp/unet/snapshot          # a smoke run (CONTRIBUTING.md, "Smoke runs")

Earlier versions (in the card's history):
    v1: --steps 10000 --wording train --two-object-fraction 0.3 --captions-per-scene 1 --lr 5e-4 --warmup 500
        --scenes 40000 --no-pairs --token-weight 0 --pixel-weight 0 --lr-floor 0.05
    v2: v1 + --init assets/checkpoints/unet-shapes --steps 4000 --lr 2e-4 --warmup 200 --scenes 30000
        --wording varied --two-object-fraction 0.5 --captions-per-scene 2 --no-pairs --token-weight 0 ...
    v3: --ground-words colour,shape --two-object-fraction 0.5 --intensify-from 15000 (on one process)

A UNet2DConditionModel learns to predict v in the 8x8x4 latents of `vae-shapes` (scaled by its
scaling factor), cross-attending to the token embeddings of the course's text encoder, as in
Stable Diffusion: its 1000-step scaled-linear schedule rescaled to end in pure noise, with
v-prediction (SCHEDULER_CONFIG in course_utils/models/unet_shapes.py).

What v3 added and v4 keeps, so that words bind to their objects:
- scenes come in pairs (data.shapes_pair), both in the same batch: two objects with their colours
  or shapes exchanged, one object with one attribute changed;
- a grounding loss (course_utils/grounding.py): each colour and shape word's cross-attention in
  the mid and up blocks is pulled onto its own object's pixels (shapes.render_masks); v4 grounds
  the size and position words too;
- "right" as an intensifier of places (captions.intensify; v4 from the first step, v3 from 15,000);
- training captions can never be held-out or free-form prompts (captions.held_out_words: checked
  here for every caption, proved in tests/test_captions.py).

Scenes, latents and caption embeddings are computed once up front and cached under runs/ (the
text encoder is frozen); the latents' cache is keyed by the VAE's weights too. 10 % of captions
are dropped (replaced by "") so that classifier-free guidance works. Every --eval-every steps the
EMA weights are measured on a fixed dev set (seed 11, held-out wording: never the card's
prompts) and written, float16, to --snapshot. At the end the EMA weights are saved as float16
safetensors to --out, and those of step --weak-step (2,000) to --out/weak: the weaker copy of the
same model that autoguidance guides away from (course_utils.guidance)."""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import shutil
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from safetensors.torch import load_file, save_file

from course_utils import captions, data, shapes
from course_utils.grounding import capturing_cross_attention, grounding_loss, token_objects
from course_utils.models.unet_shapes import (
    CAPTION_DROPOUT,
    encode_prompts,
    make_unet,
    noisy_batch,
    training_schedule,
)
from course_utils.models.vae import encode
from course_utils.paths import CHECKPOINTS, ROOT
from course_utils.train import atomic_dir, atomic_file, fit

DEV_SEED = 11          # the dev set that draws the training curve; the card measures seed 2024
DEVICE = "cuda" if torch.cuda.is_available() else "cpu"   # where the data are encoded and held, and training runs


def training_scenes(args) -> list:
    """The training scenes in order: pairs (scene, partner) with --pairs, else the plain stream."""
    if args.pairs:
        return [s for i in range(args.scenes // 2) for s in data.shapes_pair(args.seed, i, args.two_object_fraction,
                                                                               args.wording)]
    return [data.shapes_scene(args.seed, i, args.two_object_fraction, args.wording) for i in range(args.scenes)]


def scene_captions(scenes, args, intensify: float = 0.0) -> list[str]:
    """k captions per scene (scene i's at rows i*k .. i*k+k-1); none may be a held-out or free-form prompt.
    With `intensify` > 0, that share of their "in/at/on the <place>" phrases get "right" before them."""
    caps = [s.caption if j == 0 else shapes.make_caption(s, np.random.default_rng([args.seed, i, j]), args.wording)
            for i, s in enumerate(scenes) for j in range(args.captions_per_scene)]
    if intensify:
        caps = [captions.intensify(c, np.random.default_rng([args.seed, r, 7]), intensify) for r, c in enumerate(caps)]
    leaked = [c for c in caps if captions.held_out_words(c)]
    if leaked:
        raise RuntimeError(f"{len(leaked)} training captions hold held-out words, e.g. {leaked[0]!r}")
    return caps


_TOKENIZER = None   # the tokenizer the worker processes of encode_text inherit (fork)
_GROUND_WORDS = ("colour", "shape")   # and the words they ground (--ground-words)


def _workers(n: int):
    """A pool of n forked processes for the Python-bound parts of encoding (rendering, token labels), or
    None (one process): the same results either way, in the same order."""
    if n <= 1:
        return contextlib.nullcontext(None)
    import multiprocessing
    import os

    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")   # the children tokenize on their own
    return multiprocessing.get_context("fork").Pool(n)


def _token_labels(part) -> np.ndarray:
    captions_, scenes_ = part
    return token_objects(_TOKENIZER, captions_, scenes_, _GROUND_WORDS).to(torch.int8).numpy()


def _scene_pixels(chunk) -> tuple[np.ndarray, np.ndarray]:
    images = np.stack([shapes.render_scene(s) for s in chunk])                    # (n, 64, 64, 3) uint8
    m = np.zeros((len(chunk), 2, 8, 8), np.float16)
    for j, s in enumerate(chunk):
        m[j, :len(s.objects)] = shapes.render_masks(s, 8)
    return images, m


def encode_text(scenes, caps, tokenizer, text_encoder, k: int, batch: int = 256, workers: int = 1,
                words: tuple = ("colour", "shape")):
    """Caption embeddings (n * k, L, d) float16 and which object each token names (n * k, L) int8.
    `workers` > 1 labels the tokens in that many processes (the encoder runs here); `words`: which of
    an object's words name it (captions.object_word_spans)."""
    from tqdm.auto import tqdm

    global _TOKENIZER, _GROUND_WORDS
    _TOKENIZER, _GROUND_WORDS = tokenizer, tuple(words)
    parts = [(caps[s:s + batch], [scenes[(s + j) // k] for j in range(len(caps[s:s + batch]))])
             for s in range(0, len(caps), batch)]
    contexts, objects = [], []
    with _workers(workers) as pool:
        labels = pool.imap(_token_labels, parts) if pool else map(_token_labels, parts)
        for (chunk, _), lab in tqdm(zip(parts, labels), total=len(parts), desc="encoding captions"):
            contexts.append(encode_prompts(tokenizer, text_encoder, chunk).half().cpu())
            objects.append(torch.from_numpy(lab))
    return torch.cat(contexts), torch.cat(objects)


def encode_images(scenes, vae, batch: int = 256, workers: int = 1):
    """Latents (n, 4, 8, 8), unscaled, and each scene's object masks on the 8x8 grid (n, 2, 8, 8) float16.
    `workers` > 1 renders in that many processes (the VAE runs here)."""
    from tqdm.auto import tqdm

    chunks = [scenes[s:s + batch] for s in range(0, len(scenes), batch)]
    latents, masks = [], []
    with _workers(workers) as pool:
        for images, m in tqdm(pool.imap(_scene_pixels, chunks) if pool else map(_scene_pixels, chunks),
                              total=len(chunks), desc="encoding scenes"):
            latents.append(encode(vae, torch.from_numpy(images).permute(0, 3, 1, 2).float() / 255))
            masks.append(torch.from_numpy(m))
    return torch.cat(latents), torch.cat(masks)


def _cached(path: Path, make):
    if path.exists():
        return load_file(str(path))
    with torch.no_grad():
        tensors = make()
    atomic_file(path, lambda p: save_file({k: v.contiguous() for k, v in tensors.items()}, str(p)))
    return tensors


def prepared_data(args, intensify: float = 0.0):
    """A dict of the training tensors (scaled latents, masks, contexts, token objects) and the "" context.
    `intensify`: the captions' share of "right" intensifiers (a second text cache; the scenes are the same)."""
    from course_utils.models.vae import load as load_vae
    from course_utils.pipelines import course_text_encoder

    key = json.dumps([args.scenes, args.captions_per_scene, args.two_object_fraction, args.wording, args.seed, args.pairs])
    folder = args.cache
    vae = load_vae(args.vae, DEVICE)
    vae_key = hashlib.sha1((args.vae / "diffusion_pytorch_model.safetensors").read_bytes()).hexdigest()[:10]
    tokenizer, text_encoder = course_text_encoder(DEVICE)       # copies: text's cached pair stays as it was
    with torch.no_grad():
        null = encode_prompts(tokenizer, text_encoder, [""]).cpu()        # (1, L, d): the "no caption" context
    made: list = []

    def scenes():                                               # made only when a cache is missing
        if not made:
            made.append(training_scenes(args))
        return made[0]
    k = args.captions_per_scene
    text_key = key if not intensify else json.dumps([json.loads(key), "intensify", intensify])
    words = tuple(args.ground_words.split(","))
    if words != ("colour", "shape"):                            # v3's caches keep their names
        text_key = json.dumps([json.loads(text_key), "words", list(words)])
    text = _cached(folder / f"text-{hashlib.sha1(text_key.encode()).hexdigest()[:10]}.safetensors",
                   lambda: dict(zip(("contexts", "objects"),
                                    encode_text(scenes(), scene_captions(scenes(), args, intensify), tokenizer, text_encoder, k,
                                                workers=args.prep_workers, words=words))))
    pixels = _cached(folder / f"latents-{hashlib.sha1(key.encode()).hexdigest()[:10]}-vae{vae_key}.safetensors",
                     lambda: dict(zip(("latents", "masks"), encode_images(scenes(), vae, workers=args.prep_workers))))
    return {"latents": pixels["latents"] * vae.config.scaling_factor, "masks": pixels["masks"],   # latents: std ~1
            "contexts": text["contexts"], "objects": text["objects"].long()}, null


def per_process_batch(args) -> int:
    """Each process's share of --batch-size (the whole batch): torchrun and accelerate launch say how many
    processes there are in WORLD_SIZE. A share must be whole, and even with --pairs."""
    import os

    world = int(os.environ.get("WORLD_SIZE", "1"))
    share = args.batch_size // world
    if share * world != args.batch_size or share < 1:
        raise SystemExit(f"--batch-size {args.batch_size} (the whole batch) does not split evenly over {world} processes")
    if args.pairs and share % 2:
        raise SystemExit(f"--batch-size must give each of the {world} process(es) an even share with --pairs (both "
                         f"scenes of a pair share a batch), got {args.batch_size}")
    return share


def make_draw(d: dict, null: torch.Tensor, args, late_text=None):
    """draw(gen, step) -> one batch (latents, contexts, token objects, masks) for train.fit. From step
    --intensify-from on, the captions are the intensified ones: `late_text()` gives their tensors (loaded
    once, when first needed; the earlier captions' tensors are dropped then)."""
    k = args.captions_per_scene
    B = per_process_batch(args)

    def draw(gen, step):
        if late_text is not None and step >= args.intensify_from and not d.get("late"):
            d.update(late_text(), late=True)
        if args.pairs:                                                                   # both scenes of B/2 pairs
            idx = (2 * torch.randint(0, len(d["latents"]) // 2, (B // 2,), generator=gen)[:, None] + torch.arange(2)).flatten()
        else:
            idx = torch.randint(0, len(d["latents"]), (B,), generator=gen)
        cap = idx * k + torch.randint(0, k, (B,), generator=gen)                         # one of each scene's captions
        drop = torch.rand(B, generator=gen) < CAPTION_DROPOUT
        # drawn on the CPU (the same draws on any device); the data may sit on the GPU (DEVICE)
        idx, cap, drop = (x.to(d["latents"].device) for x in (idx, cap, drop))
        context = torch.where(drop[:, None, None], null, d["contexts"][cap].float())     # (B, L, d)
        objects = torch.where(drop[:, None], -1, d["objects"][cap])                      # a dropped caption names nothing
        return d["latents"][idx], context, objects, d["masks"][idx].float()
    return draw


def make_loss(args, schedule, parts: dict | None = None):
    """loss(unet, batch, gen): the v-prediction MSE, plus the grounding loss when its weights are > 0.
    `parts`, if given, adds up each step's two terms and counts the steps (for logging)."""
    grounded = args.token_weight > 0 or args.pixel_weight > 0

    def loss(unet, batch, gen):
        x0, context, objects, masks = batch
        x_t, t, target = (b.to(unet.device) for b in noisy_batch(x0, schedule, gen))
        context, objects, masks = (b.to(unet.device) for b in (context, objects, masks))
        with capturing_cross_attention(unet) if grounded else contextlib.nullcontext([]) as maps:
            mse = F.mse_loss(unet(x_t, t, encoder_hidden_states=context).sample, target)
        ground = grounding_loss(maps, objects, masks, args.token_weight, args.pixel_weight) if grounded else 0.0
        if parts is not None:
            for key, value in (("mse", float(mse.detach())), ("grounding", float(ground.detach()) if grounded else 0.0), ("steps", 1)):
                parts[key] = parts.get(key, 0) + value
        return mse + ground
    return loss


def dev_measure(unet, vae_folder: Path, n: int, guidances=(2.0, 5.0)) -> list[dict]:
    """Adherence of `unet` on the dev set (seed DEV_SEED, held-out wording): n single-object and
    n two-object prompts at each guidance, 25 DDIM steps."""
    from course_utils import pipelines
    from course_utils.adherence import measure_adherence
    from course_utils.models.vae import load as load_vae

    components = pipelines.course_components(unet.device) | {"unet": unet.eval(), "vae": load_vae(vae_folder, unet.device)}
    pipe = pipelines.StableDiffusionPipeline(**components, safety_checker=None, feature_extractor=None,
                                             requires_safety_checker=False)
    pipe.set_progress_bar_config(disable=True)
    rows = []
    for two in (0.0, 1.0):
        for g in guidances:
            r = measure_adherence(pipe, n, seed=DEV_SEED, two_object_fraction=two, wording="heldout",
                                  guidance_scale=g, num_inference_steps=25)
            rows.append({"two_objects": two == 1.0, "guidance": g, "n": n} | {a: round(x, 4) for a, x in r.items()})
    return rows


def _resumed_step(args) -> int:
    """The step a --resume run goes on from (0 for a fresh run)."""
    if not (args.resume and args.state.exists()):
        return 0
    from safetensors import safe_open

    from course_utils.train import STATE_KEY

    with safe_open(str(args.state), "pt") as f:
        return int(json.loads(f.metadata()[STATE_KEY])["step"])


def restart_state(args) -> int:
    """Write --state from a float16 snapshot folder (--restart-from) when a machine has lost the run's own
    state: the snapshot's EMA weights become both the weights and the EMA, and the optimiser starts
    afresh (its moments are never kept in git) at the snapshot's step, so that `--resume` goes on from
    there on the same learning-rate schedule, data draws and dev curve. Returns that step."""
    from diffusers import UNet2DConditionModel

    from course_utils.train import EMA, _optimizer, save_training_state

    snap = args.restart_from
    if not (snap / "curve.json").exists() or not (snap / "config.json").exists():
        raise SystemExit(f"--restart-from {snap}: not a snapshot folder (it needs config.json, the weights and "
                         "curve.json, as --snapshot writes them)")
    if args.state.exists():
        raise SystemExit(f"--restart-from: {args.state} exists; go on from it with --resume instead (it keeps the "
                         "optimiser's moments)")
    record = json.loads((snap / "curve.json").read_text())
    step = int(record.get("weights_step") or record["curve"][-1]["step"])
    unet = UNet2DConditionModel.from_pretrained(snap, use_safetensors=True).float()
    save_training_state(args.state, unet, _optimizer(unet, "adamw", args.lr, 0.01, (0.9, 0.999)), step,
                        EMA(unet, args.ema), extra={"seconds": float(record.get("seconds", 0.0)),
                                                    "restarted_from": str(snap)})
    args.snapshot.mkdir(parents=True, exist_ok=True)
    if not (args.snapshot / "curve.json").exists():                 # the dev curve goes on where it stopped
        shutil.copy(snap / "curve.json", args.snapshot / "curve.json")
    return step


def _ground_words(text: str) -> str:
    words = [w.strip() for w in text.split(",") if w.strip()]
    wrong = [w for w in words if w not in captions.GROUNDABLE]
    if not words or wrong:
        raise argparse.ArgumentTypeError(f"--ground-words takes a comma-separated list of {', '.join(captions.GROUNDABLE)};"
                                         f" got {text!r}")
    return ",".join(words)


def parser():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--steps", type=int, default=32000)
    p.add_argument("--batch-size", type=int, default=64, help="the whole batch, split evenly over the processes (torchrun --nproc_per_node 2: half each); "
                        "scenes come in pairs, so each share must be even")
    p.add_argument("--lr", type=float, default=5e-4)
    p.add_argument("--lr-floor", type=float, default=0.0,
                   help="cosine decay to this share of --lr at --steps; 1 keeps it constant, so a run can be extended")
    p.add_argument("--warmup", type=int, default=500)
    p.add_argument("--decay-from", type=int, default=22500,
                   help="hold --lr until this step, then cosine down to --lr-floor at --steps (0, or a run no "
                        "longer than it: from the start; v3 held 5e-4 while its dev curve rose, then cooled down "
                        "over its last 9,500 steps)")
    p.add_argument("--ema", type=float, default=0.999)
    p.add_argument("--scenes", type=int, default=64000, help="training scenes (rendered and encoded once)")
    p.add_argument("--captions-per-scene", type=int, default=2)
    p.add_argument("--two-object-fraction", type=float, default=0.7, help="share of scenes with two objects (v3: 0.5)")
    p.add_argument("--wording", default="varied", choices=["train", "varied"])
    p.add_argument("--pairs", action=argparse.BooleanOptionalAction, default=True,
                   help="scenes in pairs that differ where the words matter (data.shapes_pair), both in one batch")
    p.add_argument("--token-weight", type=float, default=0.1, help="the grounding loss's token term (0: none)")
    p.add_argument("--pixel-weight", type=float, default=0.01, help="the grounding loss's pixel term (BCE)")
    p.add_argument("--ground-words", default="colour,shape,size,position", type=_ground_words,
                   help="which of an object's words the grounding loss pulls onto its pixels, comma-separated, "
                        "of colour, shape, size, position (v3: colour,shape)")
    p.add_argument("--intensify", type=float, default=0.3,
                   help='share of the captions\' "in/at/on the <place>" phrases that get "right" before them '
                        '("right at the top"; never the centre), from --intensify-from on (0: never)')
    p.add_argument("--intensify-from", type=int, default=0,
                   help="the step from which training captions use --intensify (v3 switched at step 15000)")
    p.add_argument("--vae", type=Path, default=CHECKPOINTS / "vae-shapes", help="the VAE whose latents it learns")
    p.add_argument("--init", type=Path, default=None, help="start from the weights of this checkpoint folder")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=0)
    p.add_argument("--prep-workers", type=int, default=1,
                   help="processes that render scenes and label tokens while the data are first encoded (the same data)")
    p.add_argument("--save-every", type=int, default=250)
    p.add_argument("--eval-every", type=int, default=2000, help="dev-set adherence of the EMA weights (0: never)")
    p.add_argument("--dev-n", type=int, default=64, help="dev prompts per row")
    p.add_argument("--weak-step", type=int, default=2000,
                   help="keep the EMA weights of this step (a multiple of --eval-every) as <out>/weak: autoguidance's "
                        "weaker copy of the same model (0: none)")
    p.add_argument("--snapshot", type=Path, default=ROOT / "runs" / "unet-shapes" / "snapshot",
                   help="where each evaluation writes the EMA weights (float16), with the curve so far")
    p.add_argument("--cache", type=Path, default=ROOT / "runs" / "unet-shapes", help="where encoded data is cached")
    p.add_argument("--out", type=Path, default=CHECKPOINTS / "unet-shapes")
    p.add_argument("--state", type=Path, default=ROOT / "runs" / "unet-shapes" / "state.safetensors")
    p.add_argument("--resume", action="store_true")
    p.add_argument("--restart-from", type=Path, default=None, metavar="SNAPSHOT",
                   help="write --state from this float16 snapshot folder (e.g. assets/in_progress/<run>, committed at "
                        "the end of a sitting) and stop; then go on with --resume. For a machine that lost the run's "
                        "state: the optimiser starts afresh at the snapshot's step")
    p.add_argument("--unet-config", type=json.loads, default={}, help="JSON overrides of the U-Net config")
    return p


def main(argv=None):
    args = parser().parse_args(argv)
    per_process_batch(args)                                  # refuses a batch that does not split as it must
    if args.threads:
        torch.set_num_threads(args.threads)
    if args.restart_from is not None:
        step = restart_state(args)
        print(f"wrote {args.state} at step {step} from {args.restart_from} (a fresh optimiser); go on with --resume")
        return
    torch.manual_seed(args.seed)
    start = _resumed_step(args)
    late = args.intensify > 0
    if DEVICE == "cuda":                                  # TF32 matrix products: as PyTorch's own training recipes
        torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = True
    d, null = prepared_data(args, args.intensify if late and start >= args.intensify_from else 0.0)
    d, null = {k_: v.to(DEVICE) for k_, v in d.items()}, null.to(DEVICE)   # all of it on the GPU, where there is one
    d["late"] = late and start >= args.intensify_from      # already the intensified captions: draw loads nothing more

    def late_text():
        t, _ = prepared_data(args, args.intensify)
        return {"contexts": t["contexts"].to(DEVICE), "objects": t["objects"].to(DEVICE)}
    schedule = training_schedule()

    parts: dict = {}
    draw, loss = make_draw(d, null, args, late_text if late else None), make_loss(args, schedule, parts)

    curve = []

    def evaluation(step, losses, unet):
        rows = dev_measure(unet, args.vae, args.dev_n)
        n = max(parts.pop("steps", 0), 1)
        curve.append({"step": step, "loss": round(float(np.mean(losses[-500:])), 5), "rows": rows,
                      "mse": round(parts.pop("mse", 0) / n, 5), "grounding": round(parts.pop("grounding", 0) / n, 5)})
        print(f"\nstep {step}: mse {curve[-1]['mse']:.4f}, grounding {curve[-1]['grounding']:.4f}; " + "; ".join(
            f"{'two' if r['two_objects'] else 'one'} w={r['guidance']:g}: "
            + (f"both {r['both_objects']:.2f}" if r["two_objects"] else f"all {r['all']:.2f}") for r in rows), flush=True)

        def write(tmp):
            unet.to(torch.float16).save_pretrained(tmp, safe_serialization=True)
            (tmp / "curve.json").write_text(json.dumps({"settings": settings, "curve": curve}, indent=1))
        atomic_dir(args.snapshot, write)
        if step == args.weak_step:
            atomic_dir(args.snapshot.with_name("weak"), write)

    unet = make_unet(**args.unet_config)
    if args.init is not None:
        from diffusers import UNet2DConditionModel

        unet.load_state_dict(UNet2DConditionModel.from_pretrained(args.init, use_safetensors=True).float().state_dict())
    settings = {k_: (str(v) if isinstance(v, Path) else v) for k_, v in vars(args).items()
                if k_ not in ("resume", "restart_from", "out", "state", "snapshot", "cache", "prep_workers")}
    settings["caption_dropout"] = CAPTION_DROPOUT
    if args.init is not None and (args.init / "training_log.json").exists():  # the run it started from
        settings["init_training_log"] = json.loads((args.init / "training_log.json").read_text())
    if args.resume and (args.snapshot / "curve.json").exists():                # the curve goes on where it stopped
        curve.extend(json.loads((args.snapshot / "curve.json").read_text())["curve"])
    # float16 on disk halves the file (9 MB instead of 19); pipelines.py loads it as float32
    fit(unet, loss, draw, args.steps, lr=args.lr, name="unet-shapes", out=args.out,
        write_weights=lambda m, tmp: m.to(torch.float16).save_pretrained(tmp, safe_serialization=True),
        state=args.state, resume_run=args.resume, ema_decay=args.ema, warmup=args.warmup, floor=args.lr_floor,
        decay_from=args.decay_from if args.decay_from < args.steps else 0,   # a run no longer than the constant
        # phase (a smoke run) cools down throughout; the log keeps --decay-from as given, as its help reads it
        weight_decay=0.01, clip=1.0, seed=args.seed, save_every=args.save_every, settings=settings,
        every=args.eval_every, callback=evaluation if args.eval_every else None, callback_on_ema=True,
        finish=lambda m: {"dev_curve": curve})
    weak = args.snapshot.with_name("weak")
    if args.weak_step and (weak / "diffusion_pytorch_model.safetensors").exists():
        def copy(tmp):
            for f in ("config.json", "diffusion_pytorch_model.safetensors"):
                shutil.copy(weak / f, tmp / f)
        atomic_dir(args.out / "weak", copy)


if __name__ == "__main__":
    main()
