"""Textual inversion (Gal et al. 2022): teach the pipeline a new word by learning one token vector,
everything else frozen.

- `learn_word`: the vector, learned so that the frozen U-Net denoises scaled latents given captions that
  use the new word (trained with train.fit).
- `save_word` / `load_word`: the format of diffusers' `pipe.load_textual_inversion`.
- `nearest_words`: the tokenizer's words whose vectors point most nearly the same way."""

from __future__ import annotations

import copy

import torch

from .. import validate as v
from ..models.unet_shapes import denoising_loss, training_schedule
from .teal import check_training_args


class NewWord(torch.nn.Module):
    """One learnable token vector (d,), started from the vector of an existing word."""

    def __init__(self, start: torch.Tensor):
        super().__init__()
        self.vector = torch.nn.Parameter(start.detach().clone().float())


def _embed_with(text_encoder, ids: torch.Tensor, mask: torch.Tensor, new_id: int, vector: torch.Tensor):
    """Token embeddings (B, L, d) of the text encoder, the new token's rows replaced by `vector`."""
    table = text_encoder.get_input_embeddings()
    rows = table(ids.clamp(max=table.num_embeddings - 1))                      # (B, L, d)
    rows = torch.where((ids == new_id)[..., None], vector.to(rows), rows)      # the new word's vector
    return text_encoder(inputs_embeds=rows, attention_mask=mask)[0]


def learn_word(pipe, latents: torch.Tensor, captions: list[str], token: str = "<teal>", start_word: str = "green",
               steps: int = 200, lr: float = 5e-3, batch_size: int = 16, seed: int = 0, **fit_kwargs):
    """Textual inversion: a vector for `token`, learned so that the frozen U-Net denoises `latents`
    (scaled, (N, 4, 8, 8)) given `captions` in which `token` stands for the colour. Returns
    (vector (d,), losses). Only the vector is trained, with train.fit (fit_kwargs go to it)."""
    from ..pipelines import check_pipe
    from ..train import fit

    check_pipe(pipe)
    check_training_args(latents, captions, steps, lr, batch_size)
    v.text("token", token)
    v.text("start_word", start_word)
    if start_word not in pipe.tokenizer.get_vocab():
        raise ValueError(f"start_word must be one word of the tokenizer's vocabulary (e.g. 'green'), got {start_word!r}")
    tok = copy.deepcopy(pipe.tokenizer)
    if tok.add_tokens([token]) != 1:
        raise ValueError(f"{token!r} is already a word of the tokenizer: pick a new one such as '<my-colour>'")
    new_id = tok.convert_tokens_to_ids(token)
    enc = tok(captions, padding="max_length", max_length=tok.model_max_length, truncation=True, return_tensors="pt")
    if not (enc.input_ids == new_id).any(dim=1).all():
        raise ValueError(f"every caption must contain {token!r} (the word being learned)")
    start = pipe.text_encoder.get_input_embeddings().weight[tok.convert_tokens_to_ids(start_word)]
    word, schedule = NewWord(start), training_schedule()
    for p in [*pipe.text_encoder.parameters(), *pipe.unet.parameters()]:
        p.requires_grad_(False)

    def draw(gen, step):
        idx = torch.randint(0, len(latents), (batch_size,), generator=gen)
        return latents[idx], enc.input_ids[idx], enc.attention_mask[idx]

    def loss(model, batch, gen):     # fit trains the word alone; the frozen pipeline stays where it is
        x0, ids, mask = (b.to(pipe.unet.device) for b in batch)
        context = _embed_with(pipe.text_encoder, ids, mask, new_id, model.vector)
        return denoising_loss(pipe.unet, x0, context, schedule, generator=gen)

    losses = fit(word, loss, draw, steps, lr=lr, name=f"learning {token}", seed=seed, **fit_kwargs).losses
    return word.vector.detach(), losses


def save_word(vector: torch.Tensor, token: str, path) -> None:
    """Write {token: vector} as safetensors, for pipe.load_textual_inversion(path, token=token)."""
    from safetensors.torch import save_file

    from ..train import atomic_file

    vector = v.tensor("vector", vector, 1, "one word vector (d,)")
    v.text("token", token)
    atomic_file(path, lambda p: save_file({token: vector.detach().float().reshape(1, -1).contiguous()}, str(p)))


def load_word(pipe, path, token: str) -> None:
    """pipe.load_textual_inversion(path, token=token), without transformers' notice about how it
    initialises the new row (the row is overwritten with the learned vector right after)."""
    from ..quiet import quiet

    with quiet("transformers"):
        pipe.load_textual_inversion(str(path), token=token)


def nearest_words(pipe, vector: torch.Tensor, k: int = 5) -> list[tuple[str, float]]:
    """The k words of the tokenizer whose input vectors point most nearly the way `vector` does (cosine)."""
    from ..pipelines import check_pipe

    check_pipe(pipe)
    v.whole("k", k, 1, 1000)
    table = pipe.text_encoder.get_input_embeddings().weight.detach()            # (V, d)
    vector = v.tensor("vector", vector, 1, f"one word vector ({table.shape[1]},)")
    if vector.shape[0] != table.shape[1]:
        raise ValueError(f"vector must have {table.shape[1]} numbers (the text encoder's width), got {vector.shape[0]}")
    cos = torch.nn.functional.cosine_similarity(table, vector.reshape(1, -1).to(table), dim=1)
    best = cos.topk(k + 1)
    words = pipe.tokenizer.convert_ids_to_tokens(best.indices.tolist())
    return [(w, round(float(c), 3)) for w, c in zip(words, best.values) if not w.startswith("<")][:k]
