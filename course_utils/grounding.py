"""Binding words to objects: a grounding loss on the U-Net's cross-attention maps.

Why two objects fail (lesson 06): "a red circle and a blue square" gives the U-Net the words,
but nothing in the denoising loss says that "red" belongs to the circle's pixels. Its
cross-attention maps show it: "red" and "blue" look at both shapes, and the colours leak.
Shapes World knows every object's pixels, so training can say it outright. While the U-Net
learns to denoise, each colour word's and each shape word's cross-attention is pulled onto its
own object's mask (and so off the other object's), as TokenCompose does with segmentation masks
(Wang et al., CVPR 2024: a token loss and a pixel loss on the attention maps of SD's mid and up
blocks). Nothing changes at sampling time.

    objects = token_objects(tokenizer, captions, scenes)            # (B, L): which object each token names
    with capturing_cross_attention(unet) as maps:                    # the attention probabilities, with gradients
        pred = unet(x_t, t, encoder_hidden_states=context).sample
    loss = mse(pred, target) + grounding_loss(maps, objects, masks, token_weight, pixel_weight)

Used in scripts/train_unet_shapes.py (unet-shapes v3 and v4) and notebooks/06_stable_diffusion.ipynb."""

from __future__ import annotations

import contextlib

import torch
import torch.nn.functional as F

GROUNDED_BLOCKS = ("mid_block", "up_blocks")   # TokenCompose grounds the mid and up blocks' cross-attention
NO_OBJECT = -1                                  # token_objects' value for a token that names no object


def token_objects(tokenizer, captions: list[str], scenes, words: tuple = ("colour", "shape")) -> torch.Tensor:
    """Which object each token names, (N, L) long: the object's index for the tokens of its colour
    word and its shape word (word-pieces included), NO_OBJECT for every other token, the start and end
    tokens and the padding. L = tokenizer.model_max_length, as the pipeline pads. `words` may add
    "size" and "position" (captions.object_word_spans): those words are then grounded too.

    Example: token_objects(pipe.tokenizer, ["a red circle"], [scene])[0, :4] -> tensor([-1, -1, 0, 0])"""
    from .captions import object_word_spans

    enc = tokenizer(list(captions), padding="max_length", max_length=tokenizer.model_max_length, truncation=True,
                    return_offsets_mapping=True)
    out = torch.full((len(captions), tokenizer.model_max_length), NO_OBJECT, dtype=torch.long)
    for row, (caption, scene, offsets) in enumerate(zip(captions, scenes, enc["offset_mapping"])):
        spans = object_word_spans(caption, scene, words)
        for pos, (a, b) in enumerate(offsets):
            for obj, words in enumerate(spans):
                if b > a and any(s is not None and a < s[1] and s[0] < b for s in words.values()):
                    out[row, pos] = obj
    return out


class AttentionCapture:
    """A diffusers attention processor that keeps a cross-attention layer's probabilities, with
    their gradients, then lets the layer's own processor compute its output (unchanged).

    `store` gets (B, h*w, tokens): softmax(q k^T / sqrt(d)) averaged over heads."""

    def __init__(self, original, store: list):
        self.original, self.store = original, store

    def __call__(self, attn, hidden_states, encoder_hidden_states=None, attention_mask=None, temb=None, **kwargs):
        batch, n_pos, _ = hidden_states.shape                                  # (B, h*w, C) inside a transformer block
        context = encoder_hidden_states
        if attn.norm_cross:
            context = attn.norm_encoder_hidden_states(context)
        mask = attn.prepare_attention_mask(attention_mask, context.shape[1], batch)
        probs = attn.get_attention_scores(attn.head_to_batch_dim(attn.to_q(hidden_states)),
                                          attn.head_to_batch_dim(attn.to_k(context)), mask)  # (B*heads, h*w, L)
        self.store.append(probs.reshape(batch, attn.heads, n_pos, -1).mean(1))
        return self.original(attn, hidden_states, encoder_hidden_states, attention_mask, temb, **kwargs)


@contextlib.contextmanager
def capturing_cross_attention(unet, blocks: tuple = GROUNDED_BLOCKS):
    """Within the block, every cross-attention layer ("attn2") of `unet` in `blocks` appends its
    attention probabilities (B, h*w, L) to the yielded list, one entry per layer per U-Net call.
    The processors in use before are put back afterwards, also after an error."""
    originals = dict(getattr(unet, "attn_processors", {}))
    chosen = [n for n in originals if n.endswith("attn2.processor") and n.startswith(blocks)]
    if not chosen:
        raise ValueError(f"no cross-attention layer ('attn2') in {blocks} of {type(unet).__name__}: "
                         "grounding needs a text-conditioned U-Net such as unet-shapes")
    maps: list = []
    unet.set_attn_processor({n: AttentionCapture(p, maps) if n in chosen else p for n, p in originals.items()})
    try:
        yield maps
    finally:
        unet.set_attn_processor(dict(originals))


def grounding_loss(maps: list, objects: torch.Tensor, masks: torch.Tensor, token_weight: float = 1.0,
                   pixel_weight: float = 0.0) -> torch.Tensor:
    """TokenCompose's two terms, averaged over layers and over the tokens that name an object.

    maps: attention probabilities, each (B, h*w, L) (capturing_cross_attention); objects: (B, L) from
    token_objects; masks: (B, objects, H, W) in [0, 1], each object's pixels (shapes.render_masks),
    pooled to each layer's grid. For a token k of object o with attention a over the grid:
      token loss = (1 - sum(a * mask_o) / sum(a))^2: the share of k's attention off its object;
      pixel loss = BCE(a, mask_o) at every grid cell.
    Zero when each word looks only at its own object; largest when it looks at the other one."""
    b, k = (objects != NO_OBJECT).nonzero(as_tuple=True)                      # the grounded tokens: (K,), (K,)
    if len(b) == 0:
        return masks.new_zeros(())
    total = 0.0
    for a in maps:                                                            # a: (B, h*w, L)
        side = int(round(a.shape[1] ** 0.5))
        grid = F.adaptive_avg_pool2d(masks.float(), side).flatten(2)          # (B, objects, h*w)
        attn, mask = a[b, :, k], grid[b, objects[b, k]]                       # (K, h*w) each
        inside = (attn * mask).sum(-1) / attn.sum(-1).clamp_min(1e-8)         # share of attention on the object
        token = ((1 - inside) ** 2).mean()
        pixel = F.binary_cross_entropy(attn.clamp(1e-6, 1 - 1e-6), mask.clamp(0, 1))
        total = total + token_weight * token + pixel_weight * pixel
    return total / len(maps)


@torch.no_grad()
def measure_grounding(pipe, scenes, timesteps=(250, 500, 750), seed: int = 0, swap: bool = False) -> dict:
    """The grounding loss's two terms for `pipe`'s U-Net on Shapes World two-object `scenes`, as
    training sees them: each scene drawn by the renderer, encoded by pipe.vae, noised to each of
    `timesteps`, one U-Net call with its caption. Returns {'token', 'pixel'}: means over timesteps.
    swap=True hands each word the OTHER object's mask: the negative control (larger, where words
    look at their own objects). Example: measure_grounding(pipe, [data.shapes_scene(2024, 24, 1.0)])"""
    from . import data, shapes
    from .models.vae import encode

    if not scenes or any(len(getattr(s, "objects", ())) != 2 for s in scenes):
        raise ValueError("scenes must be Shapes World scenes with two objects each, e.g. data.shapes_scene(2024, 0, 1.0)")
    captions = [s.caption for s in scenes]
    latents = encode(pipe.vae, data.render_scenes(scenes)) * pipe.vae.config.scaling_factor       # (B, 4, 8, 8)
    masks = torch.stack([torch.from_numpy(shapes.render_masks(s, latents.shape[-1])) for s in scenes])  # (B, 2, 8, 8)
    masks = masks[:, [1, 0]] if swap else masks
    objects = token_objects(pipe.tokenizer, captions, scenes)                                    # (B, L)
    context = pipe.encode_prompt(captions, pipe.device, 1, False)[0]                             # (B, L, d)
    g, terms = torch.Generator().manual_seed(seed), {"token": 0.0, "pixel": 0.0}
    for t in timesteps:
        x_t = pipe.scheduler.add_noise(latents, torch.randn(latents.shape, generator=g), torch.tensor([t] * len(scenes)))
        with capturing_cross_attention(pipe.unet) as maps:
            pipe.unet(x_t.to(pipe.device), t, encoder_hidden_states=context)
        maps = [a.float().cpu() for a in maps]
        terms["token"] += float(grounding_loss(maps, objects, masks, 1.0, 0.0)) / len(timesteps)
        terms["pixel"] += float(grounding_loss(maps, objects, masks, 0.0, 1.0)) / len(timesteps)
    return terms


# At sampling time: no masks, only the prompt's words. Lesson 06 measures that when the two objects'
# words look at the same cells at a middle step, the picture usually misses one of them. So each of the
# first steps nudges the latents, down the gradient of that overlap, before the step is taken.

def prompt_objects(tokenizer, prompts: list[str]) -> torch.Tensor:
    """Which object each token names, from the words alone (no scene): (N, L) long, 0 for the colour
    and shape words of the first object named, 1 for the second's, ..., NO_OBJECT elsewhere. An object
    is a shape word (with its synonyms: "disc", "box", ...) with the colour words written before it.

    Example: prompt_objects(pipe.tokenizer, ["a red disc and a blue star"])[0, :7] -> [-1, -1, 0, 0, -1, -1, 1]"""
    from .captions import SHAPE_WORDS
    from .shapes import COLOURS, EXTRA_COLOURS

    colours, shapes_ = set(COLOURS) | set(EXTRA_COLOURS), {w for ws in SHAPE_WORDS.values() for w in ws}
    n = tokenizer.model_max_length
    ids = tokenizer(list(prompts), padding="max_length", max_length=n, truncation=True).input_ids
    out = torch.full((len(prompts), n), NO_OBJECT, dtype=torch.long)
    for row, tokens in enumerate(ids):
        obj, pending = 0, []
        for pos, token in enumerate(tokenizer.convert_ids_to_tokens(tokens)):
            if token.lower() in colours:
                pending.append(pos)
            elif token.lower() in shapes_:
                out[row, pending + [pos]] = obj
                obj, pending = obj + 1, []
    return out


def attention_overlap(maps: list, objects: torch.Tensor) -> torch.Tensor:
    """How much the first two objects' words look at the same cells: (B,) in [0, 1], averaged over layers.

    maps: attention probabilities, each (B, h*w, L) (capturing_cross_attention); objects: (B, L) from
    prompt_objects or token_objects. Each object's map is the mean of its words' maps, made a
    distribution over the grid; the overlap is sum(min(p0, p1)): 0 when they look at different cells,
    1 when at the same. 0 for a prompt that names fewer than two objects."""
    two = (objects == 0).any(-1) & (objects == 1).any(-1)
    total = 0.0
    for a in maps:
        per = []
        for o in (0, 1):
            words = (objects == o).float()                      # (B, L)
            m = (a * words[:, None, :]).sum(-1) / words.sum(-1, keepdim=True).clamp_min(1)
            per.append(m / m.sum(-1, keepdim=True).clamp_min(1e-8))
        total = total + torch.minimum(*per).sum(-1)
    return total / max(len(maps), 1) * two
