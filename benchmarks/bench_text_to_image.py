"""How fast the course's text-to-image pipeline is, and how much of that is the U-Net (lesson 06).

    python benchmarks/bench_text_to_image.py [--threads 2] [--repeats 15]

Targets (issue: lesson 06): one 64x64 image with 25 steps and guidance in <= 0.3 s on 2 CPU
cores, and the pipeline's total time within 1.2x the time of its bare U-Net evaluations (25
calls with a batch of 2), i.e. little wasted around the model. Issue 29: the lcm-shapes adapter's
4 LCM steps without guidance take <= 0.2x the time of the teacher's 25 guided steps (skipped, and
said, when assets/checkpoints/lcm-shapes is missing). All timings are medians, measured side by
side in this one run, after a warm-up; the teacher and the LCM take turns, so that a machine that
gets busier slows both alike. Issue 25: the shipped U-Net's bare calls take <= 1.1x those of the
version before it (assets/checkpoints/unet-shapes/previous/unet), the two taking turns."""

import argparse
import statistics
import time

import torch

from course_utils import paths, pipelines
from course_utils.models.unet_shapes import load as load_unet

BUDGET_S, OVERHEAD, LCM_STEPS, LCM_RATIO = 0.3, 1.2, 4, 0.2
AGAINST_PREVIOUS = 1.1           # issue 25: the shipped U-Net no slower than the version before it (its bare calls)


def median_seconds(fn, repeats: int) -> float:
    fn()                                                               # warm-up
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def medians_taking_turns(fns: dict, repeats: int) -> dict:
    """{name: median seconds} of several functions, each warmed up, then run in turn `repeats` times."""
    for fn in fns.values():
        fn()                                                           # warm-up
    times = {name: [] for name in fns}
    for _ in range(repeats):
        for name, fn in fns.items():
            t0 = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - t0)
    return {name: statistics.median(ts) for name, ts in times.items()}


def load_lcm():
    """The lcm-shapes pipeline (models.load_pretrained), or the reason it is not there."""
    from course_utils import models, paths

    try:
        paths.checkpoint_dir("lcm-shapes")
    except FileNotFoundError as e:
        return None, str(e)
    return models.load_pretrained("lcm-shapes", device="cpu"), None


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--repeats", type=int, default=15)
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    pipe = pipelines.load_text_to_image(device="cpu")
    steps, prompt = 25, "a small red circle in the top left"
    ids = pipe.tokenizer(["", prompt], padding="max_length", max_length=32, truncation=True, return_tensors="pt")
    with torch.no_grad():
        context = pipe.text_encoder(ids.input_ids, attention_mask=ids.attention_mask)[0]     # (2, 32, 384)
    latents = torch.randn(2, 4, 8, 8)
    pipe.scheduler.set_timesteps(steps)
    ts = pipe.scheduler.timesteps

    @torch.no_grad()
    def bare_unet():
        for t in ts:
            pipe.unet(latents, t, encoder_hidden_states=context)

    @torch.no_grad()
    def text_encoder():
        pipe.text_encoder(ids.input_ids, attention_mask=ids.attention_mask)

    @torch.no_grad()
    def vae_decode():
        pipe.vae.decode(latents[:1])

    def pipeline():
        pipe(prompt, num_inference_steps=steps, guidance_scale=5.0, generator=torch.Generator().manual_seed(0))

    lcm, missing = load_lcm()
    previous = paths.checkpoint_dir("unet-shapes") / "previous" / "unet"      # v2, kept for lesson 06
    older = load_unet(previous, "cpu") if (previous / "config.json").exists() else None

    @torch.no_grad()
    def older_unet():
        for t in ts:
            older(latents, t, encoder_hidden_states=context)

    def lcm_pipeline():
        lcm(prompt, num_inference_steps=LCM_STEPS, guidance_scale=1.0, generator=torch.Generator().manual_seed(0))

    turns = medians_taking_turns({"pipeline": pipeline} | ({"lcm": lcm_pipeline} if lcm else {}), args.repeats)
    t_pipe, t_lcm = turns["pipeline"], turns.get("lcm")
    if older is not None:                                   # the shipped U-Net against the version before, in turns
        pair = medians_taking_turns({"this": bare_unet, "older": older_unet}, args.repeats)
    t_unet = median_seconds(bare_unet, args.repeats)
    t_text = median_seconds(text_encoder, args.repeats)
    t_vae = median_seconds(vae_decode, args.repeats)
    ratio = t_pipe / t_unet
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, one 64x64 image, {steps} steps, guidance 5")
    print(f"  pipeline, PIL image out        {t_pipe * 1000:7.1f} ms  (budget {BUDGET_S * 1000:.0f} ms: {t_pipe / BUDGET_S:.2f} x)")
    print(f"  bare U-Net, {steps} calls of batch 2 {t_unet * 1000:7.1f} ms  ({t_unet / steps * 1000:.2f} ms per call)")
    print(f"  text encoder, 2 prompts        {t_text * 1000:7.1f} ms")
    print(f"  VAE decode, 1 latent           {t_vae * 1000:7.1f} ms")
    print(f"  pipeline / bare U-Net = {ratio:.2f} (target <= {OVERHEAD}); "
          f"U-Net + text + VAE explain {(t_unet + t_text + t_vae) / t_pipe:.0%} of the pipeline's time")
    ok = t_pipe <= BUDGET_S and ratio <= OVERHEAD
    if older is not None:
        versus = pair["this"] / pair["older"]
        print(f"  bare U-Net against the version before it (unet-shapes/previous), in turns: {versus:.2f} x "
              f"(target <= {AGAINST_PREVIOUS} x: {'met' if versus <= AGAINST_PREVIOUS else 'NOT met'})")
        ok = ok and versus <= AGAINST_PREVIOUS
    if lcm is None:
        print(f"  lcm-shapes: not measured ({missing})")
    else:
        fast = t_lcm / t_pipe
        print(f"  lcm-shapes, {LCM_STEPS} LCM steps, no guidance {t_lcm * 1000:7.1f} ms  = {fast:.3f} x the teacher's "
              f"{steps} guided steps above (target <= {LCM_RATIO} x: {'met' if fast <= LCM_RATIO else 'NOT met'})")
        ok = ok and fast <= LCM_RATIO
    print("PASS" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
