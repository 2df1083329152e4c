"""The course's text-to-image model for the browser: ONNX files, and the noise both sides draw.

`export_onnx(folder)` writes the shipped text encoder, U-Net and VAE decoder (read from
assets/checkpoints/ when called) as ONNX, with `config.json` (the scheduler's numbers) and the
tokenizer's `vocab.txt`; `classroom/web/t2i.js` runs them with ONNX Runtime Web.
`noise(seed)` is the starting noise, drawn by a generator written once here and once in t2i.js;
`pipelines.load_text_to_image()(prompt, latents=noise(seed))` then draws what the page draws.

Example: export_onnx("_site/models"); OnnxPipeline("_site/models")("a red circle", seed=3)
Used by classroom/build.py (`make site`) and _site/playground.html."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import torch

from .quiet import quiet

FILES = ("text_encoder.onnx", "unet.onnx", "vae_decoder.onnx")
OPSET = 17
LATENT_SHAPE = (1, 4, 8, 8)


# ---------------------------------------------------------------------------------------------- noise
def _mulberry32(state: int):
    """Tommy Ettinger's mulberry32: 32-bit unsigned integers, the same stream as t2i.js's."""
    m = 0xFFFFFFFF
    while True:
        state = (state + 0x6D2B79F5) & m
        z = state
        z = ((z ^ (z >> 15)) * (z | 1)) & m
        z ^= (z + (((z ^ (z >> 7)) * (z | 61)) & m)) & m
        yield (z ^ (z >> 14)) & m


def noise(seed: int, shape=LATENT_SHAPE) -> torch.Tensor:
    """Standard normal noise (float32) from `seed` in [0, 2**32): Box-Muller on mulberry32, as in t2i.js.

    Example: pipe(prompt, latents=noise(3)) draws what the browser draws for seed 3."""
    if not isinstance(seed, int) or not 0 <= seed < 2**32:
        raise ValueError(f"seed must be a whole number in [0, 2**32), got {seed!r}")
    n, rng, out = math.prod(shape), _mulberry32(seed), []
    while len(out) < n:
        u1, u2 = (next(rng) + 0.5) / 2**32, (next(rng) + 0.5) / 2**32     # both in (0, 1)
        r = math.sqrt(-2.0 * math.log(u1))
        out += [r * math.cos(2 * math.pi * u2), r * math.sin(2 * math.pi * u2)]
    return torch.tensor(out[:n], dtype=torch.float32).reshape(shape)


# ---------------------------------------------------------------------------------------------- export
class _TextEncoder(torch.nn.Module):
    def __init__(self, encoder):
        super().__init__()
        self.encoder = encoder

    def forward(self, input_ids, attention_mask):                   # (B, L) int64 -> (B, L, 384)
        return self.encoder(input_ids, attention_mask=attention_mask)[0]


class _UNet(torch.nn.Module):
    def __init__(self, unet):
        super().__init__()
        self.unet = unet

    def forward(self, sample, timestep, context):                   # (B, 4, 8, 8), (B,), (B, L, 384)
        return self.unet(sample, timestep, encoder_hidden_states=context).sample


class _Decoder(torch.nn.Module):
    def __init__(self, vae):
        super().__init__()
        self.vae = vae

    def forward(self, latents):                                     # (B, 4, 8, 8) -> (B, 3, 64, 64) in [-1, 1]
        return self.vae.decode(latents / self.vae.config.scaling_factor).sample


def _parts(pipe) -> dict:
    """name -> (wrapper module, example inputs, input names, output name, dynamic axes)."""
    L, d = pipe.tokenizer.model_max_length, pipe.text_encoder.config.hidden_size
    ids = pipe.tokenizer(["a red circle", ""], padding="max_length", max_length=L, return_tensors="pt")
    batch = {"input_ids": {0: "B"}, "attention_mask": {0: "B"}, "sample": {0: "B"}, "timestep": {0: "B"},
             "context": {0: "B"}, "latents": {0: "B"}, "out": {0: "B"}}
    return {
        "text_encoder.onnx": (_TextEncoder(pipe.text_encoder), (ids.input_ids, ids.attention_mask),
                              ["input_ids", "attention_mask"], batch),
        "unet.onnx": (_UNet(pipe.unet), (torch.randn(2, 4, 8, 8), torch.tensor([999.0, 999.0]), torch.randn(2, L, d)),
                      ["sample", "timestep", "context"], batch),
        "vae_decoder.onnx": (_Decoder(pipe.vae), (torch.randn(1, 4, 8, 8),), ["latents"], batch),
    }


def _weights_as(model, kind: str, min_size: int = 4096):
    """Store each large float32 weight smaller, computed in float32 as before: 'float16' (a Cast) or
    'int8' (per-row symmetric: int8 * scale). The graph's inputs, outputs and arithmetic are unchanged."""
    from onnx import TensorProto, helper, numpy_helper

    graph, new_nodes, keep = model.graph, [], []
    for init in graph.initializer:
        w = numpy_helper.to_array(init)
        if w.dtype != np.float32 or w.size < min_size:
            keep.append(init)
            continue
        if kind == "float16":
            keep.append(numpy_helper.from_array(w.astype(np.float16), init.name + "_f16"))
            new_nodes.append(helper.make_node("Cast", [init.name + "_f16"], [init.name], to=TensorProto.FLOAT))
        else:
            rows = w.reshape(w.shape[0], -1)
            scale = np.maximum(np.abs(rows).max(axis=1), 1e-12) / 127.0                      # (rows,)
            q = np.clip(np.round(rows / scale[:, None]), -127, 127).astype(np.int8).reshape(w.shape)
            keep += [numpy_helper.from_array(q, init.name + "_q8"),
                     numpy_helper.from_array(scale.astype(np.float32).reshape((-1,) + (1,) * (w.ndim - 1)),
                                             init.name + "_scale")]
            new_nodes += [helper.make_node("Cast", [init.name + "_q8"], [init.name + "_f32"], to=TensorProto.FLOAT),
                          helper.make_node("Mul", [init.name + "_f32", init.name + "_scale"], [init.name])]
    del graph.initializer[:]
    graph.initializer.extend(keep)
    nodes = new_nodes + list(graph.node)                     # the weights first: nodes stay in topological order
    del graph.node[:]
    graph.node.extend(nodes)
    return model


# How each part is stored in the browser's download (classroom/web/export.md gives the measurements):
# the U-Net's checkpoint is float16 already (lossless); the text encoder in int8 is 23 MB instead of 45
# (float16) or 90 (float32), adherence 0.633 vs 0.667 on 150 held-out prompts, pictures within 0.4/255.
STORAGE = {"text_encoder.onnx": "int8", "unet.onnx": "float16", "vae_decoder.onnx": "float32"}


def export_onnx(folder, pipe=None, storage: dict | None = None) -> dict:
    """Export the three networks of `pipe` (default: the course's, read from assets/checkpoints/ now)
    into `folder`, with config.json and vocab.txt; returns {file: size in bytes}.

    storage: {file: 'float32' | 'float16' | 'int8'}, default STORAGE."""
    import onnx

    from .pipelines import load_text_to_image

    pipe = pipe if pipe is not None else load_text_to_image(device="cpu")
    folder, storage = Path(folder), STORAGE | (storage or {})
    folder.mkdir(parents=True, exist_ok=True)
    sizes = {}
    for name, (module, args, inputs, axes) in _parts(pipe).items():
        tmp = folder / (name + ".tmp")
        with torch.no_grad(), quiet(warnings=Warning):     # the tracer's notes on shape checks it freezes
            torch.onnx.export(module.eval(), args, str(tmp), input_names=inputs, output_names=["out"],
                              dynamic_axes={k: v for k, v in axes.items() if k in inputs + ["out"]},
                              opset_version=OPSET, dynamo=False)
        model = onnx.load(str(tmp))
        if storage[name] != "float32":
            model = _weights_as(model, storage[name])
        onnx.save(model, str(tmp))
        tmp.replace(folder / name)                           # nothing half-written is left behind
        sizes[name] = (folder / name).stat().st_size
    (folder / "config.json").write_text(json.dumps(web_config(pipe, storage)))
    (folder / "vocab.txt").write_text("\n".join(_vocab(pipe.tokenizer)) + "\n", encoding="utf-8")
    return sizes | {"config.json": (folder / "config.json").stat().st_size,
                    "vocab.txt": (folder / "vocab.txt").stat().st_size}


def _vocab(tokenizer) -> list[str]:
    """The WordPiece vocabulary in id order."""
    by_id = sorted(tokenizer.get_vocab().items(), key=lambda kv: kv[1])
    assert [i for _, i in by_id] == list(range(len(by_id))), "the vocabulary's ids are not 0..n-1"
    return [tok for tok, _ in by_id]


def web_config(pipe, storage: dict) -> dict:
    """What t2i.js needs besides the networks: the scheduler's abar table and rules, the tokenizer's."""
    s, tok = pipe.scheduler, pipe.tokenizer
    return {"alphas_cumprod": s.alphas_cumprod.double().tolist(), "num_train_timesteps": s.config.num_train_timesteps,
            "timestep_spacing": s.config.timestep_spacing, "steps_offset": s.config.steps_offset,
            "prediction_type": s.config.prediction_type, "set_alpha_to_one": s.config.set_alpha_to_one,
            "max_tokens": tok.model_max_length, "do_lower_case": True,
            "cls": tok.cls_token_id, "sep": tok.sep_token_id, "pad": tok.pad_token_id, "unk": tok.unk_token_id,
            "latent_shape": list(LATENT_SHAPE), "storage": storage}


# ---------------------------------------------------------------------------------------------- reference
class OnnxPipeline:
    """The browser's pipeline in Python, on onnxruntime: the same files, the same loop as t2i.js.

    Example: OnnxPipeline("_site/models")("a red circle", seed=3) -> uint8 (64, 64, 3)"""

    def __init__(self, folder, threads: int = 1):
        import onnxruntime as ort
        from transformers import BertTokenizerFast

        folder = Path(folder)
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = opts.inter_op_num_threads = threads
        self.sessions = {n: ort.InferenceSession(str(folder / n), opts, providers=["CPUExecutionProvider"]) for n in FILES}
        self.config = json.loads((folder / "config.json").read_text())
        self.tokenizer = BertTokenizerFast(str(folder / "vocab.txt"), do_lower_case=True)

    def encode(self, prompts: list[str]) -> np.ndarray:
        L = self.config["max_tokens"]
        t = self.tokenizer(prompts, padding="max_length", max_length=L, truncation=True, return_tensors="np")
        return self.sessions["text_encoder.onnx"].run(None, {"input_ids": t.input_ids.astype(np.int64),
                                                             "attention_mask": t.attention_mask.astype(np.int64)})[0]

    def __call__(self, prompt: str, seed: int = 0, guidance_scale: float = 5.0, num_inference_steps: int = 25):
        from .diffusion import ddim_step

        abar = torch.tensor(self.config["alphas_cumprod"], dtype=torch.float32)
        context = self.encode(["", prompt])                                    # (2, L, 384): uncond, cond
        x = noise(seed).numpy()
        steps = timesteps(self.config, num_inference_steps)
        for i, t in enumerate(steps):
            out = self.sessions["unet.onnx"].run(None, {"sample": np.concatenate([x, x]), "context": context,
                                                        "timestep": np.array([t, t], dtype=np.float32)})[0]
            pred = out[0:1] + guidance_scale * (out[1:2] - out[0:1])
            t_prev = steps[i + 1] if i + 1 < len(steps) else -1
            x = ddim_step(torch.from_numpy(pred), t, t_prev, torch.from_numpy(x), abar,
                          prediction_type=self.config["prediction_type"], set_alpha_to_one=False)[0].numpy()
        img = self.sessions["vae_decoder.onnx"].run(None, {"latents": x})[0][0]  # (3, 64, 64)
        return np.round(np.clip(img / 2 + 0.5, 0, 1) * 255).astype(np.uint8).transpose(1, 2, 0)


def timesteps(config: dict, num_inference_steps: int) -> list[int]:
    """DDIMScheduler.set_timesteps for 'trailing' and 'leading' spacing: the timesteps, first to last."""
    T, n = config["num_train_timesteps"], num_inference_steps
    if config["timestep_spacing"] == "trailing":
        return [int(round(T - k * T / n)) - 1 for k in range(n)]
    return [k * (T // n) + config["steps_offset"] for k in range(n)][::-1]


PARITY_PROMPTS = (("a large red star in the center on a black background", 0),
                  ("BLUE SQUARE, top left, white background", 1), ("a small green circle on the right", 2))


def compare_with_torch(pipe, folder, prompts=PARITY_PROMPTS, guidance_scale: float = 5.0,
                       num_inference_steps: int = 25) -> dict:
    """How far the ONNX files in `folder` are from `pipe` (on the CPU): each part's largest difference on the
    same inputs, and each whole picture's mean absolute pixel difference (out of 255), same noise and settings.

    Returns {"parts": {file: {max_abs, max_ref, storage, mb}}, "pictures": [{prompt, seed, mad, torch, onnx}]}
    with both pictures as uint8 (64, 64, 3). Example: compare_with_torch(pipe, "_site/models")["pictures"][0]["mad"]
    Used in notebooks/06_stable_diffusion.ipynb and by measure_parity (classroom/build.py)."""
    folder, onnx = Path(folder), OnnxPipeline(folder)
    texts, L = [p for p, _ in prompts], pipe.tokenizer.model_max_length
    x = torch.randn(2, 4, 8, 8, generator=torch.Generator().manual_seed(0))                # (2, 4, 8, 8)
    with torch.no_grad():
        ids = pipe.tokenizer(texts, padding="max_length", max_length=L, truncation=True, return_tensors="pt")
        ctx = pipe.text_encoder(ids.input_ids, attention_mask=ids.attention_mask)[0]      # (P, L, 384)
        two = torch.cat([ctx, ctx])[:2]                                                    # the U-Net's batch of 2
        run = onnx.sessions
        refs = {"text_encoder.onnx": (ctx, onnx.encode(texts)),
                "unet.onnx": (pipe.unet(x, 500, encoder_hidden_states=two).sample, run["unet.onnx"].run(
                    None, {"sample": x.numpy(), "timestep": np.full(2, 500, np.float32), "context": two.numpy()})[0]),
                "vae_decoder.onnx": (pipe.vae.decode(x / pipe.vae.config.scaling_factor).sample,
                                     run["vae_decoder.onnx"].run(None, {"latents": x.numpy()})[0])}
    parts = {k: {"max_abs": float(np.abs(got - ref.numpy()).max()), "max_ref": float(ref.abs().max()),
                 "storage": onnx.config["storage"][k], "mb": (folder / k).stat().st_size / 1e6}
             for k, (ref, got) in refs.items()}
    pictures = []
    for prompt, seed in prompts:
        ref = pipe(prompt, latents=noise(seed), guidance_scale=guidance_scale, num_inference_steps=num_inference_steps,
                   output_type="np").images[0]
        ref = np.round(ref * 255).astype(np.uint8)                                          # (64, 64, 3)
        got = onnx(prompt, seed, guidance_scale, num_inference_steps)
        pictures.append({"prompt": prompt, "seed": seed, "torch": ref, "onnx": got,
                         "mad": float(np.abs(got.astype(float) - ref).mean())})
    return {"parts": parts, "pictures": pictures}


def measure_parity(pipe, float32_folder, shipped_folder, prompts=None) -> dict:
    """How far the exports are from torch: each part's largest difference (float32 files), and the mean
    absolute pixel difference (out of 255) of whole pictures, float32 and as shipped. For export.html."""
    prompts = prompts or PARITY_PROMPTS
    f32, shipped = compare_with_torch(pipe, float32_folder, prompts), compare_with_torch(pipe, shipped_folder, prompts)
    parts = {k: v | {"storage": shipped["parts"][k]["storage"], "mb": shipped["parts"][k]["mb"]}
             for k, v in f32["parts"].items()}
    pictures = [{"prompt": a["prompt"], "seed": a["seed"], "float32": a["mad"], "shipped": b["mad"]}
                for a, b in zip(f32["pictures"], shipped["pictures"])]
    return {"parts": parts, "pictures": pictures}
