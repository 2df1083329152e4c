"""Where each word looks: the U-Net's cross-attention maps, one per word of the prompt.

Every cross-attention layer ("attn2") of the U-Net computes, at each latent position, a softmax
over the prompt's tokens: how much that position takes from each token (lesson 04, section 5).
`cross_attention_maps` records those probabilities during a real pipeline call, with diffusers'
own mechanism for it, an attention processor installed by `unet.set_attn_processor` (the
processors in use before are put back afterwards), and returns one map per word:

    maps = attention.cross_attention_maps(pipe, "a small red circle in the top left", guidance_scale=2.0)
    maps.words                 # ['a', 'small', 'red', 'circle', 'in', 'the', 'top', 'left']
    maps.for_word("red")       # (64, 64): the share of attention that went to "red", over all steps
    maps.maps.shape            # (steps, words, 64, 64); at every pixel the words' shares sum to 1

How a map is made: the conditional half of the guided batch only (the pipeline also runs the
empty prompt), averaged over heads; each layer's map (8x8 or 4x4 here) upsampled bilinearly to
64x64 and averaged over layers; word-pieces summed into their word; the start and end tokens and
the padding left out and the words' shares renormalised to sum to 1 at every pixel
(`word_share` says how much attention the words got before that).
Used in notebooks/06_stable_diffusion.ipynb (section 10) and lesson 08."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from . import validate as v

MAP_SIZE = 64   # every map is upsampled to MAP_SIZE x MAP_SIZE (the course's image size)


class CrossAttentionRecorder:
    """A diffusers attention processor that records a layer's attention probabilities.

    It computes the probabilities as diffusers' AttnProcessor does (`attn.get_attention_scores`),
    keeps the conditional half averaged over heads, then lets the layer's own processor compute
    the output, so the U-Net's result is unchanged. `store[step]` sums the layer maps of that step,
    (tokens, MAP_SIZE, MAP_SIZE), averaged over the batch's images, or (images, tokens, MAP_SIZE,
    MAP_SIZE) with per_image=True; `counts[step]` how many layers were added."""

    def __init__(self, original, store: dict, counts: dict, guided: bool = True, per_image: bool = False):
        self.original, self.store, self.counts = original, store, counts
        self.guided, self.per_image, self.calls = guided, per_image, 0

    def __call__(self, attn, hidden_states, encoder_hidden_states=None, attention_mask=None, temb=None, **kwargs):
        self.record(attn, hidden_states, encoder_hidden_states, attention_mask)
        return self.original(attn, hidden_states, encoder_hidden_states, attention_mask, temb, **kwargs)

    @torch.no_grad()
    def record(self, attn, hidden_states, encoder_hidden_states, attention_mask) -> None:
        x = hidden_states
        if x.ndim == 4:                                            # (B, C, h, w) -> (B, h*w, C)
            x = x.flatten(2).transpose(1, 2)
        batch, n_pos, _ = x.shape
        if attn.group_norm is not None:
            x = attn.group_norm(x.transpose(1, 2)).transpose(1, 2)
        context = encoder_hidden_states
        if attn.norm_cross:
            context = attn.norm_encoder_hidden_states(context)
        mask = attn.prepare_attention_mask(attention_mask, context.shape[1], batch)
        # 1. softmax(q k^T / sqrt(d)) per head: (B * heads, h*w, tokens)
        probs = attn.get_attention_scores(attn.head_to_batch_dim(attn.to_q(x)),
                                          attn.head_to_batch_dim(attn.to_k(context)), mask)
        probs = probs.float().reshape(batch, attn.heads, n_pos, -1)
        # 2. under guidance the pipeline batches [empty (negative) prompt, prompt]: keep the prompt's half
        if self.guided:
            probs = probs[batch // 2:]
        # 3. mean over heads (and images, unless per_image), back to a square grid, upsampled to MAP_SIZE
        side = int(round(n_pos ** 0.5))
        per = probs.mean(1) if self.per_image else probs.mean((0, 1))[None]   # (images or 1, h*w, tokens)
        grid = per.transpose(1, 2).reshape(len(per), -1, side, side)           # (images or 1, tokens, h, w)
        grid = F.interpolate(grid, size=(MAP_SIZE, MAP_SIZE), mode="bilinear", align_corners=False)
        grid = grid if self.per_image else grid[0]
        step = self.calls                                          # each layer runs once per U-Net call
        self.calls += 1
        self.store[step] = self.store.get(step, 0) + grid.cpu()
        self.counts[step] = self.counts.get(step, 0) + 1


@contextlib.contextmanager
def recording_cross_attention(unet, guided: bool = True, per_image: bool = False):
    """Install a CrossAttentionRecorder on every cross-attention layer ("attn2") of `unet` for the
    duration of the `with` block; yields the dict step -> (tokens, 64, 64) map averaged over layers
    (and over the batch's images; per_image=True keeps them apart: (images, tokens, 64, 64)),
    filled when the block ends. guided=True: the U-Net's batch is [empty prompt, prompt] (the
    pipeline with guidance_scale > 1), and only the prompt's half is kept. The processors in use
    before are restored afterwards, also after an error.

    Example: with recording_cross_attention(pipe.unet) as maps: pipe("a red circle", guidance_scale=2)"""
    originals = dict(getattr(unet, "attn_processors", {}))
    if not any(name.endswith("attn2.processor") for name in originals):
        raise ValueError(f"{type(unet).__name__} has no cross-attention layers ('attn2'): "
                         "cross-attention maps need a text-conditioned U-Net such as pipe.unet")
    store, counts = {}, {}
    recorders = {name: CrossAttentionRecorder(p, store, counts, guided, per_image) if name.endswith("attn2.processor")
                 else p for name, p in originals.items()}
    averaged = {}
    unet.set_attn_processor(dict(recorders))     # set_attn_processor pops from the dict it gets: a copy
    try:
        yield averaged
    finally:
        unet.set_attn_processor(dict(originals))
        averaged.update({step: store[step] / counts[step] for step in sorted(store)})


def prompt_words(tokenizer, prompt: str) -> tuple[list[str], list[list[int]]]:
    """The prompt's words and, for each, the positions of its tokens in the padded token sequence.

    Word-pieces ("he", "##xa", "##gon") join into one word; the start and end tokens and the
    padding belong to no word. Example: prompt_words(pipe.tokenizer, "a red hexagon")
    -> (['a', 'red', 'hexagon'], [[1], [2], [3, 4, 5]])"""
    enc = tokenizer([prompt], padding="max_length", max_length=tokenizer.model_max_length, truncation=True)
    ids = enc.input_ids[0]
    try:
        word_of = enc.word_ids(0)
    except (ValueError, AttributeError):                           # a slow tokenizer: one word per token
        special = set(tokenizer.all_special_ids)
        word_of = [None if t in special else i for i, t in enumerate(ids)]
    positions: dict[int, list[int]] = {}
    for pos, w in enumerate(word_of):
        if w is not None:
            positions.setdefault(w, []).append(pos)
    groups = list(positions.values())
    words = [tokenizer.decode([ids[p] for p in g]).strip() for g in groups]
    return words, groups


@dataclass
class CrossAttentionMaps:
    """One run's cross-attention, per word: `maps` (steps, words, 64, 64), each pixel's shares
    summing to 1 over the words; `image` (3, H, W) in [0, 1]; `words`; `timesteps`;
    `word_share` (steps,): the mean share of attention the words got before renormalising
    (the rest went to the start / end tokens and the padding)."""

    prompt: str
    image: torch.Tensor
    words: list
    maps: torch.Tensor
    timesteps: list
    word_share: torch.Tensor

    def index(self, word) -> int:
        """The position of `word` (a word of the prompt, or its index) in `words`."""
        if isinstance(word, int) and not isinstance(word, bool):
            if not -len(self.words) <= word < len(self.words):
                raise ValueError(f"word index {word} is out of range: the prompt has {len(self.words)} words {self.words}")
            return word % len(self.words)
        where = [i for i, w in enumerate(self.words) if w == str(word).lower()]
        if not where:
            raise ValueError(f"{word!r} is not a word of the prompt; its words are {self.words}")
        if len(where) > 1:
            raise ValueError(f"{word!r} occurs {len(where)} times in the prompt, at indices {where} of {self.words}: "
                             "pass the index instead")
        return where[0]

    def for_word(self, word, step: int | None = None) -> torch.Tensor:
        """(64, 64): the share of attention that went to `word` (a word or its index), averaged
        over all steps (step=None) or at one step (0 = the first, noisiest; -1 = the last)."""
        i = self.index(word)
        if step is None:
            return self.maps[:, i].mean(0)
        n = len(self.maps)
        step = v.whole("step", step, -n, n - 1, hint=f"the run has {n} steps: 0 ... {n - 1}, or -1 for the last")
        return self.maps[step, i]


def cross_attention_maps(pipe, prompt: str, seed: int = 0, num_inference_steps: int = 25,
                         guidance_scale: float = 5.0, **kwargs) -> CrossAttentionMaps:
    """Generate one image for `prompt` and record where each of its words looks, at every step.

    The same call as pipelines.generate(pipe, [prompt], seed=seed, ...): the same image, to 1e-5.
    Extra keywords go to the pipeline (negative_prompt=, guidance_rescale=, ...).

    Example: m = cross_attention_maps(pipe, "a small red circle in the top left", guidance_scale=2.0)
             viz.plot_cross_attention(m)"""
    v.text("prompt", prompt)
    return cross_attention_maps_many(pipe, [prompt], seed, num_inference_steps, guidance_scale, **kwargs)[0]


def cross_attention_maps_many(pipe, prompts: list[str], seed: int = 0, num_inference_steps: int = 25,
                              guidance_scale: float = 5.0, **kwargs) -> list[CrossAttentionMaps]:
    """cross_attention_maps for each prompt, in one batched run of the pipeline: each prompt's maps
    and image are the ones cross_attention_maps(pipe, prompt, seed) gives alone (each starts from
    its own generator of `seed`), to float precision, in a fraction of the time.

    Example: maps = cross_attention_maps_many(pipe, ["a red circle", "a blue star"], guidance_scale=2.0)"""
    from .pipeline_inputs import check_pipe

    check_pipe(pipe)
    prompts = v.texts("prompts", prompts)
    seed = v.whole("seed", seed, 0, 2**62)
    for name in ("generator", "output_type", "num_images_per_prompt", "prompt_embeds"):
        if name in kwargs:
            raise v.InputTypeError(f"cross_attention_maps sets {name} itself (one image from seed=); leave {name} out")
    spoken = [prompt_words(pipe.tokenizer, p) for p in prompts]
    for p, (words, _) in zip(prompts, spoken):
        if not words:
            raise ValueError(f"the prompt {p!r} has no words: cross-attention maps need a prompt such as 'a red circle'")
    generators = [torch.Generator().manual_seed(seed) for _ in prompts]    # each image its own noise, as alone
    guided = float(guidance_scale) > 1 and getattr(pipe.unet.config, "time_cond_proj_dim", None) is None  # as diffusers
    with recording_cross_attention(pipe.unet, guided, per_image=True) as per_step:
        images = pipe(list(prompts), generator=generators, output_type="pt", num_inference_steps=num_inference_steps,
                      guidance_scale=guidance_scale, **kwargs).images.float().cpu()
    every = torch.stack([per_step[s] for s in sorted(per_step)], 1)                # (prompts, steps, tokens, 64, 64)
    out = []
    for i, (prompt, (words, groups)) in enumerate(zip(prompts, spoken)):
        per_word = torch.stack([every[i][:, g_].sum(1) for g_ in groups], 1)       # (steps, words, 64, 64)
        total = per_word.sum(1, keepdim=True)
        out.append(CrossAttentionMaps(prompt, images[i], words, per_word / total, pipe.scheduler.timesteps.tolist(),
                                      total.mean((1, 2, 3))))
    return out


def object_box(obj, size: int = MAP_SIZE) -> tuple[int, int, int, int]:
    """(top, left, bottom, right) in pixels: the square a Shapes World object (shapes.ShapeObject)
    was drawn in, on a size x size image."""
    r = obj.side * size / 2
    return (max(0, round(obj.cy * size - r)), max(0, round(obj.cx * size - r)),
            min(size, round(obj.cy * size + r)), min(size, round(obj.cx * size + r)))


def colour_word_shares(maps: CrossAttentionMaps, scene, min_pixels: int = 30) -> list[dict]:
    """For each object of a two-object `scene` whose colour word occurs once in the prompt: how much
    attention that colour word gives the object's own square and the other object's square (mean
    share per pixel), and the colour read back (metrics.read_scene) nearest the object's place.

    Example: colour_word_shares(cross_attention_maps(pipe, scene.caption), scene)
    -> [{'colour': 'red', 'own': 0.07, 'other': 0.05, 'drawn': 'red'}, ...]. Used in lesson 06."""
    from .shapes_reader import read_scene

    if len(getattr(scene, "objects", ())) != 2:
        raise ValueError("scene must be a Shapes World scene with two objects, e.g. data.shapes_scene(2024, 0, 1.0)")
    _, found = read_scene(maps.image, min_pixels=min_pixels)
    rows = []
    for own, other in (scene.objects, scene.objects[::-1]):
        if maps.words.count(own.colour) != 1:
            continue
        heat = maps.for_word(own.colour)
        share = [float(heat[t:b, l:r].mean()) for t, l, b, r in (object_box(own), object_box(other))]
        near = [f for f in found if abs((f.bbox[0] + f.bbox[2]) / 2 - own.cy * MAP_SIZE) + abs(
                (f.bbox[1] + f.bbox[3]) / 2 - own.cx * MAP_SIZE) < own.side * MAP_SIZE]
        rows.append({"colour": own.colour, "own": share[0], "other": share[1], "drawn": near[0].colour if near else None})
    return rows
