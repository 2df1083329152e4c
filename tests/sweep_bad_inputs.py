"""A sweep of bad inputs over the public API: each argument of each function, one at a time,
replaced by each of a list of bad values. Not a pytest file (it takes minutes); run it with

    OMP_NUM_THREADS=1 .venv/bin/python tests/sweep_bad_inputs.py

and it prints every call that did not end in a course error naming its argument: raw library
errors, errors that do not name the argument, calls that were accepted (to read: some bad-looking
values are fine, e.g. seed=0), and calls that ran past the time limit."""

from __future__ import annotations

import math
import resource
import signal
import sys
import traceback
import warnings
from collections import Counter

import numpy as np
import torch

warnings.simplefilter("ignore")
resource.setrlimit(resource.RLIMIT_AS, (16 * 2**30, 16 * 2**30))   # a call that allocates without bound fails here

from course_utils import (  # noqa: E402
    adherence,
    data,
    digit_judge,
    flow,
    images,
    inspection,
    models,
    noise,
    pipelines,
    shapes_reader,
    text,
    viz,
)
from course_utils.diffusion import ddpm_step  # noqa: E402
from course_utils.models import vae as vae_module  # noqa: E402

NAN = math.nan
BAD = {"None": None, "'x'": "x", "-1": -1, "0": 0, "1.5": 1.5, "nan": NAN, "inf": math.inf, "[]": [],
       "{}": {}, "True": True, "10**9": 10**9, "np(2,2)": np.zeros((2, 2)), "t(0)": torch.zeros(0),
       "t(nan)": torch.full((2, 3, 8, 8), NAN), "object()": object()}


def x(*shape):
    return torch.rand(*shape)


def targets():
    pipe = pipelines.load_text_to_image(device="cpu")
    i2i = pipelines.img2img(pipe)
    vae = models.load_pretrained("vae-shapes", "cpu")
    S = noise.make_schedule("linear", 100)
    scene = data.shapes_scene(0, 0)
    return {
        "data.digits": (data.digits, dict(size=8, binary=False)),
        "data.photo": (data.photo, dict(name="astronaut", size=32)),
        "data.shapes_world": (data.shapes_world, dict(n=2, seed=0, two_object_fraction=0.3, wording="train",
                                                      size=64, jitter=True, start=0)),
        "data.shapes_scene": (data.shapes_scene, dict(seed=0, index=0, two_object_fraction=0.3, wording="train")),
        "noise.make_schedule": (noise.make_schedule, dict(kind="linear", num_timesteps=100, beta_start=1e-4,
                                                          beta_end=0.02)),
        "noise.add_noise": (noise.add_noise, dict(x0=x(2, 1, 8, 8), noise=x(2, 1, 8, 8), t=5, schedule=S)),
        "diffusion.ddpm_step": (ddpm_step, dict(x_t=x(2, 1, 8, 8), eps=x(2, 1, 8, 8), t=5, schedule=S)),
        "flow.interpolate": (flow.interpolate, dict(x0=x(2, 2), noise=x(2, 2), t=torch.tensor([0.5, 0.5]))),
        "flow.euler_sample": (flow.euler_sample, dict(model=lambda a, t: a, noise=x(4, 2), steps=4)),
        "flow.toy_data": (flow.toy_data, dict(n=10, seed=0)),
        "text.tokenize": (text.tokenize, dict(texts=["a"], max_length=32, padding="longest")),
        "text.sentence_embeddings": (text.sentence_embeddings, dict(texts=["a"], max_length=32)),
        "text.mean_pool": (text.mean_pool, dict(embeddings=x(2, 5, 8), mask=torch.ones(2, 5))),
        "text.cosine_similarity": (text.cosine_similarity, dict(a=x(2, 3), b=x(2, 3))),
        "images.to_numpy": (images.to_numpy, dict(image=x(3, 4, 4), value_range=(0, 1))),
        "images.to_pil": (images.to_pil, dict(image=x(3, 4, 4), value_range=(0, 1))),
        "images.from_numpy": (images.from_numpy, dict(arr=np.zeros((4, 4, 3)), value_range=(0, 1))),
        "images.make_grid": (images.make_grid, dict(images=x(2, 3, 4, 4), nrow=2, padding=1, pad_value=1.0)),
        "images.to_png": (images.to_png, dict(x=x(3, 4, 4), scale=1)),
        "shapes_reader.read_scene": (shapes_reader.read_scene, dict(image=x(3, 64, 64), min_pixels=6)),
        "digit_judge.judge_digits": (digit_judge.judge_digits, dict(images=x(4, 1, 8, 8))),
        "shapes_reader.adherence": (shapes_reader.adherence, dict(images=x(1, 3, 64, 64), scenes=[scene])),
        "models.sample": (models.sample, dict(name="gan-digits", n=2, seed=0)),
        "models.load_pretrained": (models.load_pretrained, dict(name="gan-digits", device="cpu")),
        "vae.encode": (vae_module.encode, dict(vae=vae, x=x(1, 3, 64, 64))),
        "vae.decode": (vae_module.decode, dict(vae=vae, z=x(1, 4, 8, 8))),
        "pipe(...)": (pipe, dict(prompt="a", height=64, width=64, num_inference_steps=2, guidance_scale=2.0,
                                 negative_prompt="b", num_images_per_prompt=1, eta=0.0, output_type="pt")),
        "img2img(...)": (i2i, dict(prompt="a", image=x(1, 3, 64, 64), strength=0.5, num_inference_steps=4,
                                   guidance_scale=2.0, output_type="pt")),
        "adherence.generate": (adherence.generate, dict(pipe=pipe, prompts=["a"], seed=0, batch_size=4,
                                                        num_inference_steps=2)),
        "inspection.denoise_by_hand": (inspection.denoise_by_hand, dict(pipe=pipe, prompt="a", negative_prompt="",
                                                                      guidance_scale=2.0, num_inference_steps=2,
                                                                      seed=0)),
        "inspection.denoising_strip": (inspection.denoising_strip, dict(pipe=pipe, prompt="a", n_show=2, seed=0,
                                                                      num_inference_steps=2)),
        "adherence.measure_adherence": (adherence.measure_adherence, dict(pipe=pipe, n=2, seed=0,
                                                                          two_object_fraction=0.0,
                                                                          wording="heldout", num_inference_steps=2)),
        "inspection.latents_to_images": (inspection.latents_to_images, dict(pipe=pipe, latents=x(1, 4, 8, 8))),
        "viz.show_images": (viz.show_images, dict(images=x(2, 1, 8, 8), nrow=2, size=1.6)),
        "viz.plot_loss": (viz.plot_loss, dict(losses=[1.0, 2.0, 3.0], smooth=2)),
        "viz.plot_noising_steps": (viz.plot_noising_steps, dict(x0=x(3, 8, 8), timesteps=(0, 500), seed=0)),
        "viz.plot_schedules": (viz.plot_schedules, dict(kinds=("linear",), num_timesteps=100)),
        "viz.plot_embedding_similarity": (viz.plot_embedding_similarity, dict(texts=["a", "b"])),
        "viz.plot_gan_losses": (viz.plot_gan_losses, dict(d_losses=[1.0, 2.0], g_losses=[1.0, 2.0], smooth=2)),
        "viz.latent_histogram": (viz.latent_histogram, dict(z=x(4, 8, 8), scaling_factor=0.5)),
        "viz.plot_prompt_grid": (viz.plot_prompt_grid, dict(images=x(2, 3, 8, 8), row_labels=["a"],
                                                            col_labels=["b", "c"])),
    }


class Timeout(Exception):
    pass


def _alarm(*_):
    raise Timeout


def run_one(fn, kwargs, name) -> tuple[str, str]:
    import matplotlib.pyplot as plt

    signal.signal(signal.SIGALRM, _alarm)
    signal.alarm(30)
    try:
        fn(**kwargs)
        return "accepted", ""
    except Timeout:
        return "timeout", ""
    except (ValueError, TypeError) as e:
        frames = traceback.extract_tb(e.__traceback__)
        if "course_utils" not in frames[-1].filename:
            return "raw", f"{type(e).__name__} in {frames[-1].filename.split('site-packages/')[-1]}: {str(e)[:120]}"
        if name not in str(e):
            return "unnamed", f"{type(e).__name__}: {str(e)[:160]}"
        return "ok", ""
    except Exception as e:  # noqa: BLE001
        frames = traceback.extract_tb(e.__traceback__)
        where = frames[-1].filename.split("site-packages/")[-1] if frames else "?"
        return "raw", f"{type(e).__name__} in {where}: {str(e)[:120]}"
    finally:
        signal.alarm(0)
        plt.close("all")


def main() -> int:
    tally, notes = Counter(), []
    for label, (fn, good) in targets().items():
        for name in good:
            for shown, bad in BAD.items():
                if isinstance(bad, type(good[name])) and not isinstance(bad, (torch.Tensor, np.ndarray)) \
                        and bad == good[name]:
                    continue
                outcome, detail = run_one(fn, good | {name: bad}, name)
                tally[outcome] += 1
                if outcome != "ok":
                    notes.append(f"{outcome:9s} {label}({name}={shown}) {detail}")
    print("\n".join(notes))
    print(dict(tally), "calls:", sum(tally.values()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
