"""How the text-to-image cards measure: three prompt sets that never share a prompt, and rates
that carry their 95 % intervals and per-prompt verdicts (for paired tests).

- DEV (seed 11): the training curve (`scripts/train_unet_shapes.py`), which decides when to stop.
- SELECTION (seed 7): where sampling settings (guidance w, the guidance lever, steps) are chosen.
- REPORT (seed 2024): what a card reports, with the settings chosen on SELECTION.
Each set is the seed's scene stream with every prompt that an earlier set holds skipped, so the
three are disjoint by construction (tests/test_evaluation.py checks the sizes the cards use).
Wordings are the held-out or free-form ones, which no training caption can hold (captions.py).

The measurements behind every card live here too (`evaluate_rbm` ... `evaluate_lora`, named by
each registry entry's `evaluation`); `python scripts/evaluate_checkpoints.py <name>` runs one and
writes metrics.json and the card. Notebooks and tests call the card's own measurement from here.

Example: scenes = prompt_set("report", 300, two_object_fraction=0.0)
         row = measure(pipe, scenes, guidance_scale=2.0); row["rates"]["all"]   # {'k', 'n', 'rate', 'low', 'high'}"""

from __future__ import annotations

import json
import math
import os
import platform
import time
from functools import lru_cache
from pathlib import Path

import numpy as np
import torch

from . import data, models, shapes_reader
from . import validate as v
from .digit_judge import digit_judge, heldout_digits, judge_digits
from .images import to_unit
from .paths import checkpoint_dir
from .shapes import WORDINGS

SEEDS = {"dev": 11, "selection": 7, "report": 2024}
ORDER = ("dev", "selection", "report")      # each set skips the prompts of the sets before it
LARGEST = {"dev": 64, "selection": 300, "report": 1000}   # the most prompts of one kind each set is drawn with:
# the dev set is the training script's 64 a kind; a set drawn larger could meet a later set's prompts


@lru_cache(maxsize=64)
def _captions(name: str, two_object_fraction: float, wording: str) -> frozenset:
    return frozenset(s.caption for s in prompt_set(name, LARGEST[name], two_object_fraction, wording))


def prompt_set(name: str, n: int, two_object_fraction: float = 0.0, wording: str = "heldout") -> list:
    """The first n scenes of set `name` ("dev", "selection" or "report") whose prompts no earlier
    set holds (at its LARGEST size, same kind): shapes.Scene objects, .caption the prompt.

    The dev set is the training script's (its first n scenes, nothing skipped)."""
    v.one_of("name", name, ORDER)
    n = v.whole("n", n, 1, LARGEST[name])
    v.number("two_object_fraction", two_object_fraction, 0.0, 1.0)
    v.one_of("wording", wording, WORDINGS)
    earlier = frozenset().union(*(_captions(e, two_object_fraction, wording) for e in ORDER[:ORDER.index(name)]))
    out, i = [], 0
    while len(out) < n:
        scene = data.shapes_scene(SEEDS[name], i, two_object_fraction, wording)
        if scene.caption not in earlier:
            out.append(scene)
        i += 1
    return out


def measure(pipe, scenes, extra_colours: tuple = (), seed: int = 0, **kwargs) -> dict:
    """Generate one picture per scene's prompt (adherence.generate: seeded, batch i seed + i) and
    judge it from the pixels. Returns {'n', 'rates': {key: Rate.as_dict()}, 'verdicts': [...]}:
    the verdicts, one dict per prompt, let `compare` pair two settings on the same prompts."""
    from . import stats
    from .adherence import generate

    if not scenes:
        raise ValueError("measure needs at least one scene: prompt_set('report', 300) gives a list.")
    images = generate(pipe, [s.caption for s in scenes], seed=seed, **kwargs)
    verdicts = shapes_reader.judge(images, scenes, extra_colours)
    return {"n": len(scenes), "rates": {k: r.as_dict() for k, r in stats.rates(verdicts).items()},
            "verdicts": [{k: bool(x) for k, x in it.items()} for it in verdicts]}


def compare(a: dict, b: dict, key: str = "all") -> dict:
    """The exact McNemar test of two `measure` rows on the same prompts, for one key ("all",
    "colour", ..., "both_objects")."""
    from . import stats

    for name, row in (("a", a), ("b", b)):
        if not isinstance(row, dict) or "verdicts" not in row:
            raise ValueError(f"{name} must be a row that evaluation.measure returned (it has 'verdicts').")
    va = [it[key] for it in a["verdicts"] if key in it]
    vb = [it[key] for it in b["verdicts"] if key in it]
    if not va:
        raise ValueError(f"no verdict holds {key!r}: single-object rows have 'all', two-object rows 'both_objects'.")
    return stats.mcnemar(va, vb)


# ---------------------------------------------------------------------------------------------
# The measurements behind each card (registry.Checkpoint.evaluation names one of these).

def machine() -> str:
    return f"{platform.machine()}, {os.cpu_count()} CPU cores, torch {torch.__version__}, {torch.get_num_threads()} threads"


def _cpu_seconds() -> tuple[float, float]:
    """(CPU seconds all processes of the machine have used since boot, those of this process)."""
    try:
        ticks = [int(v) for v in open("/proc/stat").readline().split()[1:9]]   # user .. steal
        busy = (sum(ticks) - ticks[3] - ticks[4]) / os.sysconf("SC_CLK_TCK")   # minus idle, iowait
    except (OSError, ValueError):                                              # not Linux: unknown
        busy = float("nan")
    return busy, time.process_time()


def host(before: tuple[float, float], wall: float) -> dict:
    """Where the numbers were measured, and how many cores other processes kept busy meanwhile."""
    (all0, own0), (all1, own1) = before, _cpu_seconds()
    others = ((all1 - all0) - (own1 - own0)) / wall
    return {"machine": platform.machine(), "cpu_cores": os.cpu_count(), "torch": torch.__version__,
            "threads": torch.get_num_threads(), "seconds": wall,
            "others_cores": None if others != others else max(0.0, others)}


def stopwatch(draw, *args, **kwargs) -> tuple[torch.Tensor, float]:
    """(draw(*args, **kwargs), the seconds it took)."""
    t0 = time.perf_counter()
    return draw(*args, **kwargs), time.perf_counter() - t0


def judged(images, seconds: float | None = None, **about) -> dict:
    """One row of a digit card: what the digit judge says about `images` (and how long they took)."""
    r = judge_digits(images)
    row = {**about, "confidence": r.confidence, "classes": r.classes_covered, "class_counts": r.class_counts,
           "class_entropy": r.class_entropy + 0.0, "frechet": r.frechet, "seconds": seconds}  # + 0.0: no -0.0
    print(r, about, "" if seconds is None else f"{seconds:.1f} s", flush=True)
    return row


def digits_card(n: int, real: torch.Tensor | None = None) -> dict:
    """What every digit card starts from: the judge's own numbers and its row for real held-out digits."""
    digits, clf = data.digits(), digit_judge()
    held, labels = heldout_digits()
    judge = {"digits": len(digits), "heldout": len(held), "trained_on": len(digits) - len(held),
             "heldout_accuracy": float(clf.score(held.reshape(len(held), 64).numpy(), labels.numpy())),
             "max_entropy": math.log2(10)}
    return {"n": n, "seed": 1, "judge": judge, "real": judged(held[:n] if real is None else real)}


def uniform_noise(n: int) -> torch.Tensor:
    return torch.rand(n, 1, 8, 8, generator=torch.Generator().manual_seed(0))


def evaluate_rbm(n: int = 500) -> dict:
    """The digit judge on RBM samples after 1000 and 100 Gibbs steps, pseudo-likelihood -> metrics.json."""
    rbm = models.load_pretrained("rbm-digits")
    v = data.digits(binary=True).images
    real = (heldout_digits()[0][:n] > 0.5).float()
    return digits_card(n, real) | {
        "noise": judged((uniform_noise(n) < v.mean()).float()),
        "pseudo_log_likelihood": rbm.pseudo_log_likelihood(v.reshape(-1, 64)).mean().item(),
        "gibbs": [judged(*stopwatch(models.sample, "rbm-digits", n, seed=1, steps=k), steps=k)
                  for k in (1000, 100)]}


def evaluate_gan(n: int = 500) -> dict:
    """The digit judge on G's samples, and D's mean output on real and generated digits -> metrics.json."""
    G, D = models.load_pretrained("gan-digits")
    card = digits_card(n) | {"noise": judged(uniform_noise(n))}
    x, seconds = stopwatch(models.sample, "gan-digits", n, seed=1)
    with torch.no_grad():
        d = [torch.sigmoid(D(images.reshape(-1, 64) * 2 - 1)).mean().item() for images in (heldout_digits()[0][:n], x)]
    return card | {"generator": judged(x, seconds), "d_real": d[0], "d_fake": d[1]}


def evaluate_ddpm(n: int = 500) -> dict:
    """The digit judge on DDPM (1000 steps) and DDIM (50, 10 steps) samples, with their times -> metrics.json."""
    from diffusers import DDIMScheduler

    from course_utils.diffusion import ddpm_sample, sample_diffusion
    from course_utils.noise import make_schedule

    pipe = models.load_pretrained("ddpm-digits")

    def draw(steps):
        g = torch.Generator().manual_seed(1)
        if steps == 1000:
            return to_unit(ddpm_sample(pipe.unet, make_schedule("linear"), n, g)[0])
        return sample_diffusion(pipe.unet, DDIMScheduler.from_config(pipe.scheduler.config), n, steps, g)

    return digits_card(n) | {
        "noise": judged(uniform_noise(n)), "params": sum(p.numel() for p in pipe.unet.parameters()),
        "samplers": [judged(*stopwatch(draw, k), sampler="DDPM" if k == 1000 else "DDIM", steps=k)
                     for k in (1000, 50, 10)]}


def evaluate_vae(n: int = 1000, seed: int = 2024) -> dict:
    """PSNR of reconstructions of unseen scenes, by group, and of three photos -> metrics.json."""
    from course_utils.models.vae import psnr, reconstruct

    vae = models.load_pretrained("vae-shapes")
    batch = data.shapes_world(n, seed=seed)                     # seed 0 trained it; these are unseen
    recon, seconds = stopwatch(lambda: torch.cat([reconstruct(vae, batch.images[i:i + 100]) for i in range(0, n, 100)]))
    scores = psnr(recon, batch.images)
    groups: dict[str, dict[str, list[float]]] = {"objects": {}, "background": {}, "shape": {}, "size": {}}
    for score, scene in zip(scores.tolist(), batch.scenes):
        groups["objects"].setdefault(str(len(scene.objects)), []).append(score)
        groups["background"].setdefault(scene.background, []).append(score)
        for obj in scene.objects:                               # a two-object scene counts for both
            groups["shape"].setdefault(obj.shape, []).append(score)
            groups["size"].setdefault(obj.size, []).append(score)
    names = ("astronaut", "coffee", "chelsea")
    photos = torch.stack([data.photo(p, 64) for p in names])
    log = json.loads((checkpoint_dir("vae-shapes") / "training_log.json").read_text())
    print(f"mean PSNR {scores.mean():.2f} dB", flush=True)
    return {"n": n, "seed": seed, "params": sum(p.numel() for p in vae.parameters()), "seconds": seconds,
            "training_scenes": log["steps"] * log["batch_size"],        # an endless stream: none seen twice
            "psnr": {"mean": scores.mean().item(), "median": scores.median().item(), "min": scores.min().item()},
            "groups": {kind: {k: {"images": len(v), "mean": sum(v) / len(v), "min": min(v)} for k, v in sorted(g.items())}
                       for kind, g in groups.items()},
            "photos": dict(zip(names, psnr(reconstruct(vae, photos), photos).tolist()))}


def evaluate_unet_shapes(n: int = 300, n_two: int = 200, n_select: int = 150, compare_with=None) -> dict:
    """The registry's measurement of the shipped unet-shapes (its card): evaluate_text_to_image on the
    shipped U-Net and VAE, autoguidance guiding away from <unet-shapes>/weak (the EMA weights of step
    2,000 of the same run, which scripts/train_unet_shapes.py keeps), the version kept for lesson 06
    (<unet-shapes>/previous/unet on previous/vae: v2, without the grounding loss) and the version just
    before this one (<unet-shapes>/previous/v3-unet, on the shipped vae-shapes it was trained on), all on
    the same prompts. compare_with: another older U-Net folder, or (U-Net folder, the VAE folder it was
    trained on), instead of v2."""
    folder = checkpoint_dir("unet-shapes")
    weak, previous = folder / "weak", folder / "previous"
    if compare_with is None and (previous / "unet" / "config.json").exists():
        compare_with = (previous / "unet", previous / "vae")
    history = tuple((label, previous / sub, checkpoint_dir("vae-shapes")) for label, sub in HISTORY
                    if (previous / sub / "config.json").exists())
    return evaluate_text_to_image(folder, checkpoint_dir("vae-shapes"), weak if (weak / "config.json").exists() else None,
                                  compare_with, n, n_two, n_select, history=history)


HISTORY = (("v3", "v3-unet"),)   # older unet-shapes versions kept under previous/ (on today's vae-shapes) for the card


def evaluate_lcm(n: int = 300, n_two: int = 200) -> dict:
    """lcm-shapes' card: on the report set's n one-object held-out prompts, the teacher (the shipped
    unet-shapes, plain CFG at the w its card chose on the selection set) with DDIM at 1, 2, 4, 8 and
    25 steps and the adapter with LCMScheduler at 1, 2, 4 and 8 steps (guidance_scale 1), every rate
    with its Wilson interval and the time per image; the same at 4 (LCM) and 25 (teacher) steps on n_two
    two-object prompts; and LCM against the teacher by McNemar on the same prompts."""
    from . import recorded, stats
    from .models import load_pretrained

    w = recorded.guidance_choice()["chosen"]
    teacher, student = text_to_image_pipeline(), load_pretrained("lcm-shapes")
    single, two = prompt_set("report", n, 0.0), prompt_set("report", n_two, 1.0)

    def row(who, pipe, scenes, steps, what):
        t0 = time.perf_counter()
        r = measure(pipe, scenes, guidance_scale=w if who == "teacher" else 1.0, num_inference_steps=steps)
        r = {"set": what, "model": who, "sampler": "DDIM" if who == "teacher" else "LCM", "steps": steps,
             "guidance": w if who == "teacher" else 1.0} | r | {
             "ms_per_image": round((time.perf_counter() - t0) / len(scenes) * 1000, 1)}
        print(_public(r), flush=True)
        return r

    rows = [row("teacher", teacher, single, k, "single") for k in (1, 2, 4, 8, 25)]
    rows += [row("lcm", student, single, k, "single") for k in (1, 2, 4, 8)]
    rows += [row("teacher", teacher, two, 25, "two objects"), row("lcm", student, two, 4, "two objects")]
    at = {(r["model"], r["set"], r["steps"]): r for r in rows}
    def pair(what, a, b, key):
        ra, rb = at[("lcm",) + a], at[("teacher",) + b]
        flags = [[it[key] for it in r["verdicts"] if key in it] for r in (ra, rb)]
        return {"set": what, "a": f"lcm {a[1]}", "b": f"teacher {b[1]}", "key": key} | compare(ra, rb, key) | \
            stats.paired_difference(*flags)

    paired = [pair("single", ("single", k), ("single", j), "all") for k, j in ((4, 25), (4, 4), (1, 25))]
    paired.append(pair("two objects", ("two objects", 4), ("two objects", 25), "both_objects"))
    folder = checkpoint_dir("lcm-shapes")
    return {"n": n, "n_two": n_two, "seed": SEEDS["report"], "teacher_guidance": w,
            "adapter_mb": round((folder / "pytorch_lora_weights.safetensors").stat().st_size / 1e6, 2),
            "example_heldout": single[0].caption, "rows": [_public(r) for r in rows], "paired": paired}


def evaluate_flow(n: int = 500) -> dict:
    """The digit judge on flow-digits (Euler) and ddpm-digits (DDIM) samples at 1 to 50 steps -> metrics.json."""
    unet = models.load_pretrained("flow-digits")
    models.load_pretrained("ddpm-digits")                       # loaded before the clocks start
    ddpm_log = json.loads((checkpoint_dir("ddpm-digits") / "training_log.json").read_text())
    return digits_card(n) | {
        "params": sum(p.numel() for p in unet.parameters()), "ddpm_training_steps": ddpm_log["steps"],
        "samplers": [judged(*stopwatch(models.sample, name, n, seed=1, steps=k), model=name, sampler=sampler, steps=k)
                     for k in (1, 2, 4, 8, 50) for name, sampler in (("flow-digits", "Euler"), ("ddpm-digits", "DDIM"))]}


def evaluate_lora(n: int = 100, n_old: int = 500, seed: int = 2024, guidance: float = 2.0) -> dict:
    """lora-teal: teal prompts in wordings training never used, with and without the adapters, and the six old
    colours with and without them (forgetting), all read back with a reader that knows teal; and the VAE's
    reconstructions with and without the decoder's adapter. Then the U-Net's adapter alone and the VAE's alone,
    to see which one costs the old colours what -> metrics.json. Its "rows" are keyed by name: "adapters"
    (scale 1) and "base" (scale 0), read as m["rows"]["adapters"], never by position."""
    from collections import Counter

    from course_utils import finetune as ft
    from course_utils.adherence import generate
    from course_utils.models.vae import psnr, reconstruct

    pipe = models.load_pretrained("lora-teal")
    _, scenes, prompts = ft.teal_examples(n, seed=seed, wording="freeform")
    old = [data.shapes_scene(seed, i, 0.0, "heldout") for i in range(n_old)]
    pictures, picture_scenes, _ = ft.teal_examples(n_old, seed=seed + 1, other_share=0.5)
    is_teal = torch.tensor([s.objects[0].colour == ft.NEW_COLOUR for s in picture_scenes])

    old_verdicts = {}

    def run(scale):
        kw = dict(guidance_scale=guidance, num_inference_steps=25, seed=seed) | ft.lora_scale(pipe, scale)
        teal = generate(pipe, prompts, **kw)
        back = reconstruct(pipe.vae, pictures)
        old_verdicts[scale] = shapes_reader.judge(generate(pipe, [s.caption for s in old], **kw), old, ("teal",))
        return {"scale": scale, "teal": shapes_reader.adherence(teal, scenes, ("teal",)),
                "teal_colours": dict(Counter(ft.read_colours(teal))),
                "old": shapes_reader.shares(old_verdicts[scale]),
                "vae_teal_read_teal": float(np.mean([c == "teal" for c in ft.read_colours(back[is_teal])])),
                "vae_old_psnr": float(psnr(back[~is_teal], pictures[~is_teal]).mean())}

    def alone(unet_scale, vae):     # one of the two: which costs the old colours what
        kw = dict(guidance_scale=guidance, num_inference_steps=25, seed=seed) | ft.lora_scale(pipe, unet_scale)
        ft.decoder_adapter(pipe.vae, vae)
        return {"teal_colour": shapes_reader.adherence(generate(pipe, prompts, **kw), scenes, ("teal",))["colour"],
                "old": shapes_reader.adherence(generate(pipe, [s.caption for s in old], **kw), old, ("teal",))}

    rows = {"adapters": run(1.0), "base": run(0.0)}          # by name: the adapters on (scale 1) and off (scale 0)
    split = {"unet": alone(1.0, vae=False), "vae": alone(0.0, vae=True)}
    folder = checkpoint_dir("lora-teal")
    return {"n": n, "n_old": n_old, "n_old_pictures": int((~is_teal).sum()), "n_teal_pictures": int(is_teal.sum()), "seed": seed, "guidance": guidance, "rows": rows,
            "paired_old": old_change(old_verdicts[1.0], old_verdicts[0.0]),
            "alone": split,
            "example_prompts": prompts[:4],
            "file_kb": round(sum(f.stat().st_size for f in folder.glob("*.safetensors")) / 1e3, 1)}


def old_change(with_adapters: list[dict], without: list[dict]) -> dict:
    """The old colours' change, prompt by prompt (the same prompts and seeds with the adapters and without):
    for 'all' (all four right) and 'colour', stats.mcnemar's counts and p with stats.paired_difference's
    difference and its 95 % interval (fractions; a_only = right only with the adapters)."""
    from course_utils import stats

    return {key: stats.mcnemar(*flags) | stats.paired_difference(*flags)
            for key in ("all", "colour") for flags in [[[v[key] for v in vs] for vs in (with_adapters, without)]]}


LORA_REPORT_SEED = 2024     # the lora-teal card's prompts (evaluate_lora's default seed): never chosen on (another
# seed's prompts can repeat some of its caption texts: the selection sets are other seeds, not disjoint sets)


def lora_selection(folder, n: int = 100, n_old: int = 500, seed: int = 7, guidance: float = 2.0) -> dict:
    """Score a trial of scripts/train_lora_teal.py (its output folder) on selection prompts, to choose the script's
    settings: n free-form teal prompts and n_old old-colour prompts (held-out wording) of `seed`, which may not be
    the card's report seed; 25 DDIM steps at `guidance`, with the adapters and without (the base model). Returns
    teal drawn and the old colours' all four right as stats.Rate dicts, and the old colours' change paired
    prompt by prompt (old_change)."""
    from course_utils import finetune as ft
    from course_utils import stats
    from course_utils.adherence import generate

    if seed == LORA_REPORT_SEED:
        raise ValueError(f"seed {seed} gives the card's report prompts: choose settings on another seed (7 by default)")
    pipe = ft.fresh_pipeline()
    ft.load_lora(pipe, folder)
    _, scenes, prompts = ft.teal_examples(n, seed=seed, wording="freeform")
    old = [data.shapes_scene(seed, i, 0.0, "heldout") for i in range(n_old)]
    got = {}
    for scale in (1.0, 0.0):
        kw = dict(guidance_scale=guidance, num_inference_steps=25, seed=seed) | ft.lora_scale(pipe, scale)
        got[scale] = (shapes_reader.judge(generate(pipe, prompts, **kw), scenes, ("teal",)),
                      shapes_reader.judge(generate(pipe, [o.caption for o in old], **kw), old, ("teal",)))
    rate = {scale: (stats.rates(t)["colour"].as_dict(), stats.rates(o)["all"].as_dict()) for scale, (t, o) in got.items()}
    return {"folder": str(folder), "seed": seed, "n": n, "n_old": n_old, "guidance": guidance,
            "teal": rate[1.0][0], "base_teal": rate[0.0][0], "old_all": rate[1.0][1], "base_old_all": rate[0.0][1],
            "old_change": old_change(got[1.0][1], got[0.0][1])}


TEAL_LEVERS = (   # lora-teal at high guidance: the sampling levers tried on the selection prompts (the first of a tie wins)
    ("cfg", {}),
    ("interval", {"start": 0.0, "stop": 0.8}), ("interval", {"start": 0.0, "stop": 0.6}),
    ("apg", {"eta": 0.0, "norm_threshold": 0.0}),
    ("apg", {"eta": 0.0, "norm_threshold": 2.0, "momentum": -0.5}),
    ("apg", {"eta": 0.0, "norm_threshold": 2.0, "momentum": -0.5, "stop": 0.8}),
    ("apg", {"eta": 0.0, "norm_threshold": 1.0, "momentum": -0.5, "stop": 0.8}),
)


def evaluate_lora_high_guidance(guidance: float = 5.0, n_select: int = 100, n: int = 100, n_old: int = 500,
                                seed: int = 2024, select_seed: int = 7, levers=TEAL_LEVERS) -> dict:
    """lora-teal at a high guidance (w = 5), where plain CFG stops drawing teal. 1. Selection: each sampling
    lever of `levers` (course_utils.guidance) on n_select free-form teal prompts of seed `select_seed` (never
    the card's); the one drawing teal most often is chosen. 2. Report, on the card's own prompts (n teal of
    seed `seed`, n_old in the old colours): plain CFG and the chosen lever, each with the adapters and without
    (the base model), teal drawn and the old colours' all four and colour right, as stats.Rate dicts; and the
    chosen lever against plain CFG on the teal prompts by McNemar. Kept in metrics.json under "high_guidance"
    (scripts/evaluate_checkpoints.py lora-teal --high-guidance)."""
    from course_utils import finetune as ft
    from course_utils import stats
    from course_utils.adherence import generate

    pipe = models.load_pretrained("lora-teal")
    _, select, select_prompts = ft.teal_examples(n_select, seed=select_seed, wording="freeform")
    _, scenes, prompts = ft.teal_examples(n, seed=seed, wording="freeform")
    old = [data.shapes_scene(seed, i, 0.0, "heldout") for i in range(n_old)]

    def verdicts(lever, settings, scale, which, sd):
        kw = dict(guidance_scale=guidance, num_inference_steps=25, seed=sd) | ft.lora_scale(pipe, scale)
        s, ps = which
        return shapes_reader.judge(generate(_sampler(pipe, lever, guidance, settings, None), ps, **kw), s, ("teal",))

    rows = []
    for lever, settings in levers:
        v = verdicts(lever, settings, 1.0, (select, select_prompts), select_seed)
        rows.append({"lever": lever, "settings": settings, "teal": stats.rates(v)["colour"].as_dict()})
        print(f"lora-teal w={guidance}, selection: {lever} {settings}: teal {rows[-1]['teal']['rate']:.2f}", flush=True)
    best = max(rows, key=lambda r: r["teal"]["k"])          # max keeps the first of a tie
    chosen = {"lever": best["lever"], "settings": best["settings"]}
    report, teal_verdicts, old_verdicts = {}, {}, {}
    for name, (lever, settings) in (("cfg", ("cfg", {})), ("chosen", (chosen["lever"], chosen["settings"]))):
        for who, scale in (("adapters", 1.0), ("base", 0.0)):
            row = {}
            if who == "adapters":
                v = verdicts(lever, settings, scale, (scenes, prompts), seed)
                teal_verdicts[name] = v
                row["teal"] = stats.rates(v)["colour"].as_dict()
            old_verdicts[(name, who)] = verdicts(lever, settings, scale, (old, [o.caption for o in old]), seed)
            r = stats.rates(old_verdicts[(name, who)])
            row["old_all"], row["old_colour"] = r["all"].as_dict(), r["colour"].as_dict()
            report[f"{name}_{who}"] = row
            print(f"lora-teal w={guidance}, report: {name} {who}: {row}", flush=True)
    paired = stats.mcnemar([x["colour"] for x in teal_verdicts["chosen"]], [x["colour"] for x in teal_verdicts["cfg"]])
    paired_old = {name: old_change(old_verdicts[(name, "adapters")], old_verdicts[(name, "base")]) for name in ("cfg", "chosen")}
    return {"guidance": guidance, "n_select": n_select, "select_seed": select_seed, "n": n, "n_old": n_old, "seed": seed,
            "selection": rows, "chosen": chosen, "report": report, "paired_teal": paired, "paired_old": paired_old}


# ---------------------------------------------------------------------------------------------
# unet-shapes' card (v3 on): settings chosen on the selection set, reported on the report set.

GUIDANCES = (2.0, 3.0, 5.0, 7.5)
LEVERS = {   # the sampling levers of course_utils.guidance, each with the settings tried on the selection set
    "cfg": ({},),
    "interval": ({"start": 0.2, "stop": 1.0}, {"start": 0.0, "stop": 0.8}, {"start": 0.2, "stop": 0.8}),
    "apg": ({"eta": 0.0, "norm_threshold": 0.0}, {"eta": 0.0, "norm_threshold": 2.0, "momentum": -0.5}),
    "auto": ({},),
}


def _public(row: dict) -> dict:
    return {k: x for k, x in row.items() if k != "verdicts"}


def _selection_row(row: dict) -> dict:
    """A selection row as the card keeps it: the two rates the choice scores ('all' of the one-object
    prompts, 'both_objects' of the two-object ones), not every attribute's."""
    return row | {"single": {"all": row["single"]["all"]}, "two": {"both_objects": row["two"]["both_objects"]}}


def text_to_image_pipeline(unet_folder=None, vae_folder=None):
    """The course pipeline with another U-Net and/or VAE folder (None: the shipped one), on the CPU."""
    from . import pipelines
    from .models.unet_shapes import load as load_unet
    from .models.vae import load as load_vae

    parts = pipelines.course_components("cpu")
    if unet_folder is not None:
        parts["unet"] = load_unet(Path(unet_folder), "cpu")
    if vae_folder is not None:
        parts["vae"] = load_vae(Path(vae_folder), "cpu")
    pipe = pipelines.StableDiffusionPipeline(**parts, safety_checker=None, feature_extractor=None,
                                             requires_safety_checker=False)
    pipe.set_progress_bar_config(disable=True)
    return pipe


def _sampler(pipe, lever: str, w: float, settings: dict, weak):
    from . import guidance

    if lever == "cfg" and not settings:
        return pipe
    return guidance.with_guidance(pipe, lever, w, weak=weak if lever == "auto" else None, **settings)


def _lever_rows(pipe, weak, levers: dict, n: int, guidances, steps: int = 25):
    """Every setting of every lever at every w on the selection set -> (rows, scores); see choose_lever."""
    single, two = prompt_set("selection", n, 0.0), prompt_set("selection", n, 1.0)
    rows, scores = [], []
    for lever, options in levers.items():
        for settings in options:
            per_w = []
            for w in guidances:
                s = _sampler(pipe, lever, w, settings, weak)
                a = measure(s, single, guidance_scale=w, num_inference_steps=steps)
                b = measure(s, two, guidance_scale=w, num_inference_steps=steps)
                row = {"lever": lever, "settings": settings, "guidance": w, "n": n,
                       "single": a["rates"], "two": b["rates"]}
                rows.append(row)
                per_w.append((a["rates"]["all"]["rate"], b["rates"]["both_objects"]["rate"]))
                print(f"selection {lever} {settings} w={w}: all {per_w[-1][0]:.3f}, both {per_w[-1][1]:.3f}", flush=True)
            score = float(np.mean([x for x, _ in per_w]) + np.mean([y for _, y in per_w]))
            scores.append({"lever": lever, "settings": settings, "score": round(score, 4)})
    return rows, scores


def choose_lever(pipe, weak=None, n: int = 150, guidances=GUIDANCES, levers=None, steps: int = 25) -> dict:
    """Measure every lever setting at every w on the selection set (n one-object and n two-object
    prompts) and pick the one with the best score: the mean over w of 'all four right' plus the
    mean over w of 'both objects right'. Returns {'rows', 'scores', 'chosen'}; nothing here sees
    the report set."""
    levers = dict(LEVERS if levers is None else levers)
    if weak is None:
        levers.pop("auto", None)
    rows, scores = _lever_rows(pipe, weak, levers, n, guidances, steps)
    best = max(scores, key=lambda s: s["score"])
    cfg_rows = [r for r in rows if r["lever"] == "cfg"]
    best_w = max(cfg_rows, key=lambda r: r["single"]["all"]["rate"] + r["two"]["both_objects"]["rate"])["guidance"]
    return {"rows": rows, "scores": scores, "chosen": {"lever": best["lever"], "settings": best["settings"],
                                                       "cfg_guidance": best_w}}


def remeasure_levers(metrics: dict, kinds, unet_folder=None, vae_folder=None) -> dict:
    """unet-shapes' metrics.json with the selection rows and scores of the levers `kinds` (e.g. ["apg"])
    measured again with today's code and LEVERS, in place of the old ones; the other rows stay.
    The report rows were measured with the lever chosen then: where a re-measured setting now scores
    better than that choice, metrics["selection"]["outscored"] lists it (a full run chooses anew)."""
    kinds = [v.one_of("lever", k, tuple(LEVERS)) for k in kinds]
    if "cfg" in kinds or "auto" in kinds:
        raise ValueError("remeasure_levers takes the levers beside CFG that need no weak model, e.g. ['apg', 'interval']")
    pipe = text_to_image_pipeline(unet_folder, vae_folder)
    rows, scores = _lever_rows(pipe, None, {k: LEVERS[k] for k in kinds}, metrics["n_select"], metrics["guidances"])
    sel = metrics["selection"]
    sel["rows"] = [r for r in sel["rows"] if r["lever"] not in kinds] + [_selection_row(r) for r in rows]
    sel["scores"] = [s for s in sel["scores"] if s["lever"] not in kinds] + scores
    chosen = next(s["score"] for s in sel["scores"]
                  if s["lever"] == metrics["chosen"]["lever"] and s["settings"] == metrics["chosen"]["settings"])
    sel["outscored"] = [s for s in sel["scores"] if s["score"] > chosen]
    return metrics


def evaluate_text_to_image(unet_folder=None, vae_folder=None, weak_folder=None, compare_with=None,
                           n: int = 300, n_two: int = 200, n_select: int = 150, levers=None,
                           guidances=GUIDANCES, history=()) -> dict:
    """unet-shapes' card measurement (v3 on). 1. On the selection set: every guidance lever at every w
    (choose_lever), which picks the lever and the plain-CFG w used below. 2. On the report set: plain
    CFG and the chosen lever at every w (n one-object held-out prompts), free-form prompts and two
    objects (n_two) at w = 2 and 5, steps 10 and 50 at the chosen w; every rate with its Wilson
    interval, and the lever against plain CFG by McNemar on the same prompts. 3. With compare_with
    (an older U-Net folder, e.g. v2, on the VAE it was trained on: compare_with=(unet, vae)), the
    older model on the same report prompts at w = 2, with McNemar against this one ('previous').
    4. history: more older versions, (label, U-Net folder, VAE folder or None) each, measured the same
    way; their rows go to 'history' and their McNemar tests to 'paired' with 'b' their label."""
    from .models.unet_shapes import load as load_unet

    pipe = text_to_image_pipeline(unet_folder, vae_folder)
    weak = load_unet(Path(weak_folder), "cpu") if weak_folder is not None else None
    choice = choose_lever(pipe, weak, n_select, guidances, levers)
    lever, settings, best_w = choice["chosen"]["lever"], choice["chosen"]["settings"], choice["chosen"]["cfg_guidance"]
    single, free = prompt_set("report", n, 0.0), prompt_set("report", n, 0.0, "freeform")
    two = prompt_set("report", n_two, 1.0)

    def row(what, scenes, how, w, **kw):
        t0 = time.perf_counter()
        s = _sampler(pipe, how, w, settings if how == lever else {}, weak)
        r = measure(s, scenes, guidance_scale=w, **({"num_inference_steps": 25} | kw))
        r = {"set": what, "lever": how, "guidance": w, "steps": kw.get("num_inference_steps", 25)} | r | {
             "ms_per_image": round((time.perf_counter() - t0) / len(scenes) * 1000, 1)}
        print(_public(r), flush=True)
        return r

    rows, paired = [], []
    hows = ["cfg"] + ([lever] if lever != "cfg" else [])
    for what, scenes, ws in (("single", single, guidances), ("free-form", free, (2.0, 5.0)), ("two objects", two, (2.0, 5.0))):
        for w in ws:
            got = {how: row(what, scenes, how, w) for how in hows}
            rows += got.values()
            if lever != "cfg":
                key = "both_objects" if what == "two objects" else "all"
                paired.append({"set": what, "guidance": w, "key": key, "a": lever, "b": "cfg"} | compare(got[lever], got["cfg"], key))
    rows += [row("single", single, "cfg", best_w, num_inference_steps=k) for k in (10, 50)]
    mine = {(r["set"], r["guidance"]): r for r in rows if r["lever"] == "cfg" and r["steps"] == 25}
    sets = (("single", single), ("free-form", free), ("two objects", two))
    previous = None
    if compare_with is not None:
        old_unet, old_vae = compare_with if isinstance(compare_with, (tuple, list)) else (compare_with, None)
        prev_rows, prev_paired = _older_model(old_unet, old_vae, "previous", mine, sets)
        paired += prev_paired
        previous = {"unet": str(old_unet), "vae": str(old_vae) if old_vae else None, "rows": prev_rows}
    earlier = []
    for label, old_unet, old_vae in history:
        old_rows, old_paired = _older_model(old_unet, old_vae, label, mine, sets)
        paired += old_paired
        earlier.append({"version": label, "unet": str(old_unet), "vae": str(old_vae) if old_vae else None,
                        "rows": old_rows})
    unet_file = Path(unet_folder) if unet_folder else checkpoint_dir("unet-shapes")
    return {"n": n, "n_two": n_two, "n_select": n_select, "seeds": SEEDS, "guidances": list(guidances),
            "selection": {"rows": [_selection_row(r) for r in choice["rows"]], "scores": choice["scores"]},
            "chosen": choice["chosen"],
            "weak": str(weak_folder) if weak_folder else None,
            "params": sum(p.numel() for p in pipe.unet.parameters()),
            "file_mb": round((unet_file / "diffusion_pytorch_model.safetensors").stat().st_size / 1e6, 1),
            "example_heldout": single[0].caption, "examples_freeform": [s.caption for s in free[:4]],
            "example_two": two[0].caption,
            "rows": [_public(r) for r in rows], "paired": paired, "previous": previous, "history": earlier}


def _older_model(unet_folder, vae_folder, label: str, mine: dict, sets) -> tuple[list, list]:
    """An older U-Net (on the VAE it was trained on) on the same report prompts at w = 2, plain CFG, 25
    steps: its rows, and McNemar of this model ('this', from `mine`) against it ('b' is `label`)."""
    old = text_to_image_pipeline(unet_folder, vae_folder)
    rows, paired = [], []
    for what, scenes in sets:
        r = measure(old, scenes, guidance_scale=2.0, num_inference_steps=25)
        r = {"set": what, "lever": "cfg", "guidance": 2.0, "steps": 25} | r
        key = "both_objects" if what == "two objects" else "all"
        paired.append({"set": what, "guidance": 2.0, "key": key, "a": "this", "b": label} | compare(mine[(what, 2.0)], r, key))
        print(f"{label}: {_public(r)}", flush=True)
        rows.append(_public(r))
    return rows, paired


INTERVAL = {"start": 0.0, "stop": 0.8}
SEPARATION = (   # attention separation (guidance.with_guidance(..., separate=)), alone and on the chosen interval
    ("cfg", {}), ("interval", INTERVAL),
    ("cfg", {"separate": 0.05}), ("cfg", {"separate": 0.1}), ("cfg", {"separate": 0.2}), ("cfg", {"separate": 0.2, "separate_stop": 0.6}),
    ("interval", INTERVAL | {"separate": 0.1}), ("interval", INTERVAL | {"separate": 0.2}),
    ("interval", INTERVAL | {"separate": 0.2, "separate_stop": 0.6}),
)


def evaluate_separation(unet_folder=None, vae_folder=None, n_select: int = 150, n_two: int = 200,
                        options=SEPARATION, guidances=(2.0, 5.0)) -> dict:
    """unet-shapes' two-object lever at sampling time: attention separation (guidance.with_guidance's
    `separate`), measured apart from the card's main run and kept in metrics.json under "separation".
    1. Selection set: each (lever, settings) of `options` at each w on n_select two-object prompts;
    the score is the mean over w of "both objects right"; the best is chosen. 2. Report set
    (n_two two-object prompts): plain CFG, the guidance interval and the chosen option at each w,
    each with its Wilson interval, and the chosen one against each of the other two by McNemar.
    One-object prompts are drawn exactly as without separation (tests/test_guidance.py), so their rows
    stay the card's."""
    pipe = text_to_image_pipeline(unet_folder, vae_folder)
    select, report = prompt_set("selection", n_select, 1.0), prompt_set("report", n_two, 1.0)
    rows, scores = [], []
    for lever, settings in options:
        per_w = []
        for w in guidances:
            r = measure(_sampler(pipe, lever, w, settings, None), select, guidance_scale=w, num_inference_steps=25)
            rows.append({"lever": lever, "settings": settings, "guidance": w, "both_objects": r["rates"]["both_objects"]})
            per_w.append(r["rates"]["both_objects"]["rate"])
            print(f"separation, selection: {lever} {settings} w={w}: both {per_w[-1]:.3f}", flush=True)
        scores.append({"lever": lever, "settings": settings, "score": round(float(np.mean(per_w)), 4)})
    best = max(scores, key=lambda x: x["score"])
    chosen = {"lever": best["lever"], "settings": best["settings"]}
    compared = [("cfg", {}), ("interval", INTERVAL), (chosen["lever"], chosen["settings"])]
    names = ["cfg", "interval", "chosen"]
    out, paired = [], []
    for w in guidances:
        got = {}
        for name, (lever, settings) in zip(names, compared):
            t0 = time.perf_counter()
            r = measure(_sampler(pipe, lever, w, settings, None), report, guidance_scale=w, num_inference_steps=25)
            got[name] = r
            out.append({"name": name, "lever": lever, "settings": settings, "guidance": w, "n": n_two,
                        "both_objects": r["rates"]["both_objects"],
                        "ms_per_image": round((time.perf_counter() - t0) / n_two * 1000, 1)})
            print(f"separation, report: {name} w={w}: both {r['rates']['both_objects']['rate']:.3f}", flush=True)
        for other in ("cfg", "interval"):
            paired.append({"guidance": w, "a": "chosen", "b": other} | compare(got["chosen"], got[other], "both_objects"))
    return {"n_select": n_select, "n_two": n_two, "guidances": list(guidances), "seeds": SEEDS,
            "selection": {"rows": rows, "scores": scores}, "chosen": chosen, "report": out, "paired": paired}


# ---------------------------------------------------------------------------------------------
# The pixel reader, checked by eye on generated pictures (not only on clean renders).

def _match(truth: list[dict], read: list[dict]) -> list[dict | None]:
    """Pair each true object with the read object that agrees with it most (each read object once)."""
    from itertools import permutations

    keys = ("colour", "shape", "size", "position")
    slots = list(read) + [None] * max(0, len(truth) - len(read))
    best, best_score = None, -1
    for order in permutations(range(len(slots)), len(truth)):
        score = sum(slots[j] is not None and sum(slots[j][k] == t[k] for k in keys) for t, j in zip(truth, order))
        if score > best_score:
            best, best_score = [slots[j] for j in order], score
    return best


def reader_audit(audit: dict) -> dict:
    """Where the pixel reader (shapes_reader.read_scene) and a person looking at the same generated
    pictures disagree. `audit` is a reader_audit.json: per picture its prompt, what the reader
    read, what the person saw ("truth") and which of those the person could not decide
    ("uncertain", e.g. "0.colour"). Returns, each as a Rate: attributes read wrong (of those the
    person could decide; an object the reader missed counts its four), pictures with any wrong
    reading, and pictures whose adherence verdict (right or wrong for its prompt) the reader gets
    wrong, among those the person could decide entirely; with the list of disagreements."""
    from . import stats

    keys = ("colour", "shape", "size", "position")
    attr_k = attr_n = pic_wrong = verdict_wrong = verdict_n = missed = right_called_wrong = 0
    wrong, confusions = [], {}
    scenes = {s.caption: s for two in (0.0, 1.0)
              for s in prompt_set(audit["set"], audit["two_object" if two else "single"], two)}
    for item in audit["pictures"]:
        truth, read, unsure = item["truth"], item["reader"], set(item.get("uncertain", []))
        pairs = _match(truth["objects"], read["objects"])
        bad = [] if truth["background"] == read["background"] else ["background"]
        attr_n, attr_k = attr_n + 1, attr_k + bool(bad)
        for j, (t, r) in enumerate(zip(truth["objects"], pairs)):
            for k in keys:
                if f"{j}.{k}" in unsure:
                    continue
                attr_n += 1
                if r is None or r[k] != t[k]:
                    attr_k += 1
                    bad.append(f"{j}.{k}")
                    if r is not None:
                        key = f"{k}: {t[k]} read as {r[k]}"
                        confusions[key] = confusions.get(key, 0) + 1
            missed += r is None
        if bad:
            pic_wrong += 1
            wrong.append({"i": item["i"], "wrong": bad, "truth": truth, "reader": read})
        if unsure:
            continue
        scene = scenes[item["prompt"]]
        verdict_n += 1      # right for its prompt: every verdict shapes_reader.judge gives it (the background too)
        seen = all(shapes_reader.verdicts(scene, truth["background"], truth["objects"]).values())
        judged = all(shapes_reader.verdicts(scene, read["background"], read["objects"]).values())
        verdict_wrong += seen != judged
        right_called_wrong += seen and not judged
    return {"pictures": len(audit["pictures"]), "attributes_wrong": stats.Rate(attr_k, attr_n).as_dict(),
            "pictures_wrong": stats.Rate(pic_wrong, len(audit["pictures"])).as_dict(),
            "verdicts_wrong": stats.Rate(verdict_wrong, verdict_n).as_dict(), "right_counted_wrong": right_called_wrong,
            "objects_missed": missed,
            "confusions": dict(sorted(confusions.items(), key=lambda kv: -kv[1])), "disagreements": wrong}


def choose_guidance(pipe, guidances=(1.0, 2.0, 3.0, 5.0, 7.5), n_select: int = 150, n_report: int = 300,
                    rescaled=(), guidance_rescale: float = 0.7, **kwargs) -> dict:
    """Choose the guidance scale w as the cards do, live: 'all four right' on n_select one-object
    prompts of the selection set at every w; the best guided w (w > 1; ties: the smaller) is chosen
    there, and only then is every w measured on n_report prompts of the report set (and the w in
    `rescaled` with guidance_rescale). Same keys as recorded.guidance_choice, rates as stats.Rate,
    plus 'rows': the report set's measure rows by w (and ('rescaled', w)) for paired tests (compare).

    Example: c = choose_guidance(pipe, (1.0, 2.0, 5.0), 24, 24); c['chosen'], c['report'][c['chosen']]['all']"""
    from .stats import Rate

    ws = [v.number("guidance", w, 0.0, 100.0) for w in guidances]
    guided = [w for w in ws if w > 1]
    if not guided:
        raise ValueError(f"guidances must hold at least one w > 1 to choose from, got {list(guidances)}")
    for w in rescaled:
        if w not in ws:
            raise ValueError(f"rescaled must name guidances that are measured plain as well ({ws}), got {w!r}")

    def rates(row):
        return {k: Rate(r["k"], r["n"]) for k, r in row["rates"].items()}

    select, report = prompt_set("selection", n_select), prompt_set("report", n_report)
    selection = {w: rates(measure(pipe, select, guidance_scale=w, **kwargs))["all"] for w in ws}
    chosen = max(guided, key=lambda w: (selection[w].value, -w))
    rows = {w: measure(pipe, report, guidance_scale=w, **kwargs) for w in ws}
    rows |= {("rescaled", w): measure(pipe, report, guidance_scale=w, guidance_rescale=guidance_rescale, **kwargs)
             for w in rescaled}
    return {"source": "measured now", "chosen": chosen, "chosen_on": "selection", "selection": selection,
            "report": {w: rates(rows[w]) for w in ws},
            "rescaled": {w: rates(rows["rescaled", w])["all"] for w in rescaled},
            "n_select": n_select, "n_report": n_report, "rows": rows}
