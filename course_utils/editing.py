"""Lesson 08: editing a picture with the course's text-to-image pipeline.

- DDIM inversion (Song et al. 2021, sec. 4.3; used for editing by Mokady et al. 2023 and
  Hertz et al. 2023): run the deterministic DDIM update backwards, from the picture's latent to
  the noise that would have generated it (`invert_step`, `ddim_invert`); regenerating from that
  noise with the same prompt gives the picture back, with a changed prompt an edited picture
  that keeps most of the layout (`regenerate`).
- Inpainting: repaint only a masked region, the rest kept, with diffusers'
  StableDiffusionInpaintPipeline on our ordinary 4-channel U-Net (it blends the known region's
  noised latents back in at every step, as in Avrahami et al.'s blended latent diffusion).
- Prompt-to-Prompt (Hertz et al. 2023), the word-swap edit: regenerate from the same noise with one word
  swapped, but with the source prompt's cross-attention maps put in place of the edited prompt's for
  the first steps, so that every word looks where it looked before (`prompt_to_prompt`).
- `region_mask`: a mask over one of the nine Shapes World positions."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass

import torch

from . import data, shapes
from . import validate as v
from .pipeline_inputs import check_pipe
from .shapes_reader import read_scene


def invert_step(model_output: torch.Tensor, t: int, t_next: int, sample: torch.Tensor, alphas_cumprod: torch.Tensor,
                prediction_type: str = "v_prediction") -> torch.Tensor:
    """One DDIM step run backwards: the sample at timestep t -> at the later t_next (DDIMInverseScheduler.step).

    It is lesson 03's `diffusion.ddim_step` (eta = 0) asked to go *up*: predict x0 and eps from the model
    output at t, put them back together at t_next. t = -1 is the clean latent, given abar_0 as diffusers
    does (set_alpha_to_one=False). The model output is the U-Net's at t_next, evaluated on the sample at t:
    DDIM inversion's one approximation, small when the steps are."""
    from .diffusion import ddim_step

    x_next, _ = ddim_step(model_output, max(t, 0), t_next, sample, alphas_cumprod, prediction_type=prediction_type)
    return x_next


@dataclass
class Inversion:
    noise: torch.Tensor        # (1, 4, 8, 8): the starting latent that regenerates the picture
    trajectory: list           # the latent after each inversion step, clean first
    timesteps: list


def _context(pipe, prompt: str, guidance_scale: float):
    """Token embeddings (1 or 2, L, d): [unconditional, conditional] when guiding, as the pipeline does."""
    cond, uncond = pipe.encode_prompt(prompt, pipe.unet.device, 1, guidance_scale > 1, "")
    return torch.cat([uncond, cond]) if guidance_scale > 1 else cond


def _unet(pipe, z, t, context, guidance_scale):
    zz = torch.cat([z, z]) if guidance_scale > 1 else z
    out = pipe.unet(zz, t, encoder_hidden_states=context).sample
    if guidance_scale > 1:
        uncond, cond = out.chunk(2)
        out = uncond + guidance_scale * (cond - uncond)
    return out


@torch.no_grad()
def ddim_invert(pipe, image: torch.Tensor, prompt: str, num_inference_steps: int = 25,
                guidance_scale: float = 1.0) -> Inversion:
    """The noise from which DDIM (the pipeline's scheduler, `num_inference_steps` steps) draws `image`
    (3, 64, 64) in [0, 1] for `prompt`. Example: inv = ddim_invert(pipe, picture, "a red circle")"""
    from diffusers import DDIMInverseScheduler

    from .models.vae import encode

    check_pipe(pipe)
    v.whole("num_inference_steps", num_inference_steps, 1, 1000)
    v.number("guidance_scale", guidance_scale, 0.0, 50.0)
    image = v.tensor("image", image, 3, "(3, 64, 64) in [0, 1]")
    inverse = DDIMInverseScheduler.from_config(pipe.scheduler.config)
    inverse.set_timesteps(num_inference_steps)
    context = _context(pipe, prompt, guidance_scale)
    z = encode(pipe.vae, image[None].float()) * pipe.vae.config.scaling_factor       # (1, 4, 8, 8)
    trajectory, ts, t = [z], [], -1
    for t_next in inverse.timesteps.tolist():
        out = _unet(pipe, z, t_next, context, guidance_scale)
        z = invert_step(out, t, t_next, z, inverse.alphas_cumprod, inverse.config.prediction_type)
        trajectory.append(z)
        ts.append(t_next)
        t = t_next
    return Inversion(z, trajectory, ts)


@torch.no_grad()
def regenerate(pipe, noise: torch.Tensor, prompt: str, num_inference_steps: int = 25,
               guidance_scale: float = 1.0) -> torch.Tensor:
    """The pipeline's picture (3, 64, 64) in [0, 1] from a given starting latent (e.g. an inversion's)."""
    check_pipe(pipe)
    noise = v.tensor("noise", noise, 4, "a starting latent (1, 4, 8, 8), e.g. ddim_invert(...).noise")
    return pipe(prompt, latents=noise.clone(), num_inference_steps=num_inference_steps,
                guidance_scale=guidance_scale, output_type="pt").images[0].cpu()


class AttentionSwap:
    """A diffusers attention processor for one cross-attention layer ("attn2"): diffusers' own
    AttnProcessor computes the layer, but its attention probabilities softmax(q k^T / sqrt(d)),
    (batch * heads, h*w, tokens), are recorded at every U-Net call (`inject_steps=None`) or, for the
    first `inject_steps` calls, replaced by the recorded ones. Under guidance (batch [empty prompt,
    prompt]) only the prompt's half is replaced, as in Hertz et al.'s code."""

    def __init__(self, saved: list, inject_steps: int | None = None, guided: bool = False):
        from diffusers.models.attention_processor import AttnProcessor

        self.saved, self.inject_steps, self.guided, self.calls = saved, inject_steps, guided, 0
        self.plain = AttnProcessor()

    def probabilities(self, probs: torch.Tensor, step: int) -> torch.Tensor:
        if self.inject_steps is None:                            # recording the source prompt's run
            self.saved.append(probs)
            return probs
        if step >= self.inject_steps:                            # later steps: the edited prompt's own maps
            return probs
        source = self.saved[step]
        if self.guided:                                          # keep the empty prompt's half as computed
            return torch.cat([probs[: len(probs) // 2], source[len(source) // 2:]])
        return source

    def __call__(self, attn, hidden_states, encoder_hidden_states=None, attention_mask=None, temb=None, **kwargs):
        step, scores = self.calls, attn.get_attention_scores      # one call per layer per denoising step
        self.calls += 1
        attn.get_attention_scores = lambda q, k, mask=None: self.probabilities(scores(q, k, mask), step)
        try:
            return self.plain(attn, hidden_states, encoder_hidden_states, attention_mask, temb)
        finally:
            del attn.get_attention_scores                         # the module's own method again


@contextlib.contextmanager
def swapping_cross_attention(unet, saved: dict, inject_steps: int | None = None, guided: bool = False):
    """Install an AttentionSwap on every cross-attention layer of `unet` for the `with` block (the
    processors in use before are put back afterwards, also after an error). `saved` maps each layer's
    name to its list of probabilities: filled when recording (inject_steps=None), read when injecting."""
    originals = dict(unet.attn_processors)
    swaps = {name: AttentionSwap(saved.setdefault(name, []), inject_steps, guided) if name.endswith("attn2.processor")
             else p for name, p in originals.items()}
    unet.set_attn_processor(dict(swaps))         # set_attn_processor pops from the dict it gets: a copy
    try:
        yield
    finally:
        unet.set_attn_processor(dict(originals))


def _token_count(pipe, prompt: str) -> int:
    return len(pipe.tokenizer(prompt).input_ids)


@torch.no_grad()
def prompt_to_prompt(pipe, noise: torch.Tensor, source_prompt: str, edit_prompt: str, num_inference_steps: int = 25,
                     guidance_scale: float = 1.0, inject: float = 0.8) -> tuple[torch.Tensor, torch.Tensor]:
    """Prompt-to-Prompt's word swap (Hertz et al. 2023) -> (source picture, edited picture), each (3, 64, 64).

    1. run the pipeline from `noise` with `source_prompt`, recording every cross-attention layer's maps;
    2. run it again from the same noise with `edit_prompt`, its maps replaced by the source's for the
       first `inject` share of the steps: each word looks where the source's word in its place looked,
       and what it brings (the attention's values) is the new word's.
    inject=0 is the naive swap (`regenerate`). The two prompts must have as many tokens, one swapped.
    Example: src, out = prompt_to_prompt(pipe, inv.noise, "a red circle, top left", "a blue circle, top left")"""
    check_pipe(pipe)
    noise = v.tensor("noise", noise, 4, "a starting latent (1, 4, 8, 8), e.g. ddim_invert(...).noise")
    v.number("inject", inject, 0.0, 1.0, "the share of the steps that get the source's maps")
    v.whole("num_inference_steps", num_inference_steps, 1, 1000)
    n_src, n_edit = _token_count(pipe, v.text("source_prompt", source_prompt)), _token_count(pipe, v.text("edit_prompt", edit_prompt))
    if n_src != n_edit:
        raise ValueError(f"a word swap needs prompts of as many tokens: {source_prompt!r} has {n_src}, {edit_prompt!r} has "
                         f"{n_edit}; swap one word for a word of as many tokens (pipe.tokenizer.tokenize(word) shows them)")
    guided = guidance_scale > 1 and getattr(pipe.unet.config, "time_cond_proj_dim", None) is None  # as diffusers
    saved: dict = {}
    with swapping_cross_attention(pipe.unet, saved, None, guided):
        source = regenerate(pipe, noise, source_prompt, num_inference_steps, guidance_scale)
    with swapping_cross_attention(pipe.unet, saved, round(inject * num_inference_steps), guided):
        edited = regenerate(pipe, noise, edit_prompt, num_inference_steps, guidance_scale)
    return source, edited


def picture(scene) -> torch.Tensor:
    """A Shapes World scene drawn as a tensor (3, 64, 64) in [0, 1] (data.render_scenes, one scene)."""
    return data.render_scenes([scene])[0]


def region_mask(position: str, size: int = 64, side: float = 0.5) -> torch.Tensor:
    """A (size, size) mask, 1 over a square of `side` (fraction of the image) centred on a Shapes
    World position ('top left', ..., 'bottom right'), 0 elsewhere."""
    v.one_of("position", position, list(shapes.POSITIONS))
    v.whole("size", size, 8, 1024)
    v.number("side", side, 0.0, 1.0, "the square's side as a fraction of the image", open_lo=True)
    x, y = shapes.POSITIONS[position]
    mask = torch.zeros(size, size)
    lo = lambda c: max(0, round((c - side / 2) * size))          # noqa: E731
    hi = lambda c: min(size, round((c + side / 2) * size))       # noqa: E731
    mask[lo(y):hi(y), lo(x):hi(x)] = 1
    return mask


def inpainter(pipe):
    """diffusers' StableDiffusionInpaintPipeline sharing `pipe`'s components (no extra memory)."""
    from diffusers import StableDiffusionInpaintPipeline

    check_pipe(pipe)
    inp = StableDiffusionInpaintPipeline(**pipe.components, requires_safety_checker=False)
    inp.set_progress_bar_config(disable=True)
    return inp


@torch.no_grad()
def inpaint(pipe, image: torch.Tensor, mask: torch.Tensor, prompt: str, seed: int = 0, num_inference_steps: int = 25,
            guidance_scale: float = 3.0, keep_outside: bool = True) -> torch.Tensor:
    """Repaint the region where `mask` (64, 64) is 1 so that the picture fits `prompt`; outside it
    the picture is kept (keep_outside=True pastes the original pixels back, as the pipeline's
    latent blending alone only keeps the VAE's reconstruction). Returns (3, 64, 64) in [0, 1]."""
    image = v.tensor("image", image, 3, "(3, 64, 64) in [0, 1]").float()
    mask = v.tensor("mask", mask, 2, "(64, 64), 1 where to repaint").float()
    if mask.shape != image.shape[1:]:
        raise ValueError(f"mask must be {tuple(image.shape[1:])} like the image, got {tuple(mask.shape)}")
    g = torch.Generator().manual_seed(v.whole("seed", seed, 0, 2**62))
    out = inpainter(pipe)(prompt, image=image[None], mask_image=mask[None, None], generator=g, height=64, width=64,
                          num_inference_steps=num_inference_steps, guidance_scale=guidance_scale, strength=1.0,
                          output_type="pt").images[0].cpu()
    return mask * out + (1 - mask) * image if keep_outside else out


def _swap_colour(scene, rng) -> str:
    """Another of the six colours than the scene's object's."""
    return str(rng.choice([c for c in shapes.COLOURS if c != scene.objects[0].colour]))


def _attrs(objects) -> tuple:
    """(colour, shape, size, position) of the first object, () if there is none."""
    return (objects[0].colour, objects[0].shape, objects[0].size, objects[0].position) if objects else ()


def measure_edits(pipe, n: int = 24, seed: int = 2024, num_inference_steps: int = 25) -> dict:
    """Invert n Shapes World pictures (one object, their own captions), regenerate each with the same
    caption and with its colour word changed, and read all back. Returns the shares:
    'recon_same' (reconstruction read as the original), 'colour_changed' (the edit has the new
    colour), 'layout_kept' (shape, size and position as before), and 'recon_error' (mean |pixel| error)."""
    import numpy as np

    rng = np.random.default_rng(seed)
    rows = []
    for i in range(v.whole("n", n, 1, 1000)):
        scene = data.shapes_scene(seed, i, 0.0, "train")
        image = picture(scene)
        new = _swap_colour(scene, rng)
        inv = ddim_invert(pipe, image, scene.caption, num_inference_steps)
        back = regenerate(pipe, inv.noise, scene.caption, num_inference_steps)
        edited = regenerate(pipe, inv.noise, scene.caption.replace(scene.objects[0].colour, new), num_inference_steps)
        want = _attrs([scene.objects[0]])
        got_back, got_edit = _attrs(read_scene(back)[1]), _attrs(read_scene(edited)[1])
        rows.append({"recon_same": got_back == want, "colour_changed": got_edit[:1] == (new,),
                     "layout_kept": got_edit[1:] == want[1:], "recon_error": float((back - image).abs().mean())})
    return {k: float(np.mean([r[k] for r in rows])) for k in rows[0]} | {"n": n}


def object_overlap(a: torch.Tensor, b: torch.Tensor) -> float:
    """Intersection over union of the two pictures' objects, each picture's object being its pixels farther
    than 0.2 (of 1) from its background's colour: 1 when the object covers exactly the same pixels."""
    masks = []
    for image in (a, b):
        bg = torch.tensor(shapes.BACKGROUNDS[read_scene(image)[0]]).view(3, 1, 1) / 255
        masks.append((image - bg).abs().amax(0) > 0.2)
    union = (masks[0] | masks[1]).sum()
    return float((masks[0] & masks[1]).sum() / union) if union else 1.0


def measure_prompt_to_prompt(pipe, n: int = 24, seed: int = 2024, num_inference_steps: int = 25,
                             inject: float = 0.8) -> dict:
    """The naive swap against Prompt-to-Prompt on the pictures and colour swaps of `measure_edits`: each
    picture inverted with its caption, then regenerated with the colour word swapped, naively
    (`regenerate`) and with the source's cross-attention maps for the first `inject` of the steps.
    Returns {'naive': ..., 'p2p': ...}, each with stats.Rate 'colour_changed' (the edit reads the new colour)
    and 'layout_kept' (shape, size and position read as the picture's) and the mean 'overlap' of the edited
    object with the source run's (`object_overlap`); 'layout_test' (McNemar, paired) and 'examples'
    [(picture, source run, naive, p2p, new colour)]."""
    import numpy as np

    from .stats import Rate, mcnemar

    rng = np.random.default_rng(seed)
    rows, examples = {"naive": [], "p2p": []}, []
    for i in range(v.whole("n", n, 1, 1000)):
        scene = data.shapes_scene(seed, i, 0.0, "train")              # as measure_edits: same pictures, same swaps
        image, new = picture(scene), _swap_colour(scene, rng)
        edit = scene.caption.replace(scene.objects[0].colour, new)
        inv = ddim_invert(pipe, image, scene.caption, num_inference_steps)
        source, p2p = prompt_to_prompt(pipe, inv.noise, scene.caption, edit, num_inference_steps, inject=inject)
        naive = regenerate(pipe, inv.noise, edit, num_inference_steps)
        want = _attrs([scene.objects[0]])
        for name, out in (("naive", naive), ("p2p", p2p)):
            got = _attrs(read_scene(out)[1])
            rows[name].append({"colour_changed": got[:1] == (new,), "layout_kept": got[1:] == want[1:],
                               "overlap": object_overlap(source, out)})
        examples.append((image, source, naive, p2p, new))
    result = {name: {k: Rate(sum(r[k] for r in rs), n) for k in ("colour_changed", "layout_kept")}
              | {"overlap": float(np.mean([r["overlap"] for r in rs]))} for name, rs in rows.items()}
    return result | {"layout_test": mcnemar([r["layout_kept"] for r in rows["p2p"]], [r["layout_kept"] for r in rows["naive"]]),
                     "examples": examples, "n": n, "inject": inject}


def measure_inpainting(pipe, n: int = 24, seed: int = 2024, **kwargs) -> dict:
    """Add an object to n one-object pictures by inpainting a free position, and read them back.
    Returns the shares: 'placed' (some object found at the asked position), 'added' (one of the asked
    colour and shape there),
    'kept' (the original object still read as before), and 'outside_max_change' (largest pixel
    change outside the mask: 0 when the original pixels are pasted back)."""
    import numpy as np

    rng = np.random.default_rng(seed)
    rows = []
    for i in range(v.whole("n", n, 1, 1000)):
        scene = data.shapes_scene(seed, i, 0.0, "train")
        image = picture(scene)
        old = scene.objects[0]
        far = max(shapes.POSITIONS, key=lambda p: (shapes.POSITIONS[p][0] - old.cx) ** 2 + (shapes.POSITIONS[p][1] - old.cy) ** 2)
        colour, shape = _swap_colour(scene, rng), str(rng.choice(shapes.SHAPES))
        prompt = f"a small {colour} {shape} {far_words(far)}, {scene.background} background"
        mask = region_mask(far, side=0.4)
        out = inpaint(pipe, image, mask, prompt, seed=i, **kwargs)
        found = read_scene(out)[1]
        rows.append({"placed": any(o.position == far for o in found),
                     "added": any((o.colour, o.shape, o.position) == (colour, shape, far) for o in found),
                     "kept": any((o.colour, o.shape, o.size, o.position) == (old.colour, old.shape, old.size, old.position)
                                 for o in found),
                     "outside_max_change": float((out - image)[:, mask == 0].abs().max())})
    return {k: float(np.mean([r[k] for r in rows])) for k in ("placed", "added", "kept")} | {
            "outside_max_change": max(r["outside_max_change"] for r in rows), "n": n}


def far_words(position: str) -> str:
    """'in the top left', 'at the top', 'in the center' ...: a position in the training captions' words."""
    return shapes.POSITION_WORDS["train"][position][0]
