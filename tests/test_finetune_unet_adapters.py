"""course_utils/finetune/unet_adapters.py: the U-Net's LoRA, its training with prior preservation, its files,
and the rebuild script scripts/train_lora_teal.py."""

import json
import sys

import pytest
import torch

from course_utils import pipelines
from course_utils.finetune.teal import fresh_pipeline
from course_utils.finetune.unet_adapters import (
    CONV_TARGETS,
    LORA_TARGETS,
    WORD_TARGETS,
    add_lora,
    load_lora,
    lora_scale,
    save_lora,
    train_lora,
)
from course_utils.finetune.vae_adapters import add_decoder_lora, decoder_adapter, save_decoder_lora


def test_lora_round_trip_and_scale_zero_is_the_base_model(tiny_course_checkpoints, tmp_path):
    pipe = fresh_pipeline()
    base = pipelines.load_text_to_image()
    add_lora(pipe.unet, rank=4)
    log = train_lora(pipe, torch.randn(4, 4, 8, 8), ["a teal star"] * 4, steps=2, batch_size=2,
                     out=tmp_path / "adapter")
    assert len(log["losses"]) == 2 and (tmp_path / "adapter" / "pytorch_lora_weights.safetensors").exists()
    with torch.no_grad():                                  # make the adapter's effect visible (B starts at 0)
        for name, p in pipe.unet.named_parameters():
            if "lora_B" in name:
                p.add_(0.5)
    save_lora(pipe.unet, tmp_path / "big")
    add_decoder_lora(pipe.vae, rank=2)
    with torch.no_grad():
        for name, p in pipe.vae.decoder.named_parameters():
            if "lora_B" in name:
                p.add_(0.05)
    save_decoder_lora(pipe.vae, tmp_path / "big")
    loaded = fresh_pipeline()
    load_lora(loaded, tmp_path / "big")                         # the U-Net's and the decoder's

    def image(p, **kw):
        return p("a teal star", num_inference_steps=2, generator=torch.Generator().manual_seed(0), output_type="pt",
                 guidance_scale=2.0, **kw).images

    assert torch.equal(image(loaded, **lora_scale(loaded, 0.0)), image(base))   # both adapters off
    assert not torch.allclose(image(loaded, **lora_scale(loaded, 1.0)), image(base), atol=1e-3)
    assert torch.allclose(image(loaded, **lora_scale(loaded, 1.0)), image(pipe), atol=1e-5)  # saved = trained
    decoder_adapter(loaded.vae, False)
    loaded.unload_lora_weights()
    assert torch.equal(image(loaded), image(base))
    with pytest.raises(ValueError, match="no adapter"):
        decoder_adapter(base.vae, True)


def _prediction(unet, seed=0):
    g = torch.Generator().manual_seed(seed)
    x, ctx = torch.randn(2, 4, 8, 8, generator=g), torch.randn(2, 32, unet.config.cross_attention_dim, generator=g)
    with torch.no_grad():
        return unet(x, torch.tensor([10, 900]), encoder_hidden_states=ctx).sample


@pytest.mark.parametrize("preserve", [True, False])
def test_preserved_examples_train_the_adapter_toward_the_base_model(tiny_course_checkpoints, preserve):
    pipe = fresh_pipeline()
    base = _prediction(pipe.unet)
    add_lora(pipe.unet, rank=4)
    log = train_lora(pipe, torch.randn(4, 4, 8, 8), ["a teal star"] * 4, steps=3, batch_size=2, lr=1e-2,
                     preserve=[preserve] * 4)
    if preserve:       # the adapter starts as the base model, so every target is what it already predicts
        assert log["losses"] == [0.0] * 3 and torch.equal(_prediction(pipe.unet), base)
    else:              # negative control: v targets move it
        assert min(log["losses"]) > 0 and not torch.allclose(_prediction(pipe.unet), base, atol=1e-4)
    with pytest.raises(ValueError, match="one True/False per example"):
        train_lora(pipe, torch.randn(4, 4, 8, 8), ["a teal star"] * 4, steps=1, preserve=[True] * 3)


def test_the_preserved_examples_weight_keeps_the_adapter_nearer_the_base_model(tiny_course_checkpoints):
    distance = {}
    for weight in (0.0, 100.0):
        pipe = fresh_pipeline()
        base = _prediction(pipe.unet)
        add_lora(pipe.unet, rank=4)
        torch.manual_seed(0)
        train_lora(pipe, torch.randn(4, 4, 8, 8), ["a teal star", "a red star"] * 2, steps=20, batch_size=4,
                   lr=1e-2, preserve=[False, True] * 2, preserve_weight=weight)
        distance[weight] = (_prediction(pipe.unet) - base).abs().mean().item()
    assert 0 < distance[100.0] < 0.5 * distance[0.0], distance


@pytest.mark.parametrize("keep", [True, False])
def test_keep_unconditional_leaves_the_dropped_captions_prediction_alone(tiny_course_checkpoints, monkeypatch, keep):
    monkeypatch.setattr("course_utils.models.unet_shapes.CAPTION_DROPOUT", 1.0)    # every caption dropped
    pipe = fresh_pipeline()
    base = _prediction(pipe.unet)
    add_lora(pipe.unet, rank=4)
    log = train_lora(pipe, torch.randn(4, 4, 8, 8), ["a teal star"] * 4, steps=3, batch_size=2, lr=1e-2,
                     keep_unconditional=keep)
    if keep:           # every example is then preserved: the targets are what the adapter already predicts
        assert log["losses"] == [0.0] * 3 and torch.equal(_prediction(pipe.unet), base)
    else:              # negative control: the unconditional prediction learns the new pictures
        assert min(log["losses"]) > 0 and not torch.allclose(_prediction(pipe.unet), base, atol=1e-4)


def test_an_adapter_on_the_convolutions_too_saves_and_loads_back(tiny_course_checkpoints, tmp_path):
    pipe = fresh_pipeline()
    add_lora(pipe.unet, rank=2, targets=LORA_TARGETS + CONV_TARGETS)
    names = [n for n, p in pipe.unet.named_parameters() if p.requires_grad]
    assert any("conv1.lora_A" in n for n in names) and any("attn2.to_k.lora_A" in n for n in names)
    with torch.no_grad():
        for name, p in pipe.unet.named_parameters():
            if "lora_B" in name:
                p.add_(0.1)
    save_lora(pipe.unet, tmp_path)
    loaded = fresh_pipeline()
    loaded.load_lora_weights(str(tmp_path))
    assert torch.allclose(_prediction(loaded.unet), _prediction(pipe.unet), atol=1e-5)
    assert not torch.allclose(_prediction(fresh_pipeline().unet), _prediction(pipe.unet), atol=1e-3)


def _first_cross_attention(unet, targets) -> dict:
    """The outputs of the first cross-attention layer's query, key and value projections, and the U-Net's
    prediction, with an adapter on `targets` whose B is made non-zero (None: no adapter)."""
    if targets is not None:
        add_lora(unet, rank=2, targets=targets)
        with torch.no_grad():
            for name, p in unet.named_parameters():
                if "lora_B" in name:
                    p.add_(0.3)
    attn = next(m for n, m in unet.named_modules() if n.endswith("attn2"))
    seen = {}
    hooks = [getattr(attn, k).register_forward_hook(lambda m, i, o, k=k: seen.setdefault(k, o.clone()))
             for k in ("to_q", "to_k", "to_v")]
    seen["prediction"] = _prediction(unet)
    for h in hooks:
        h.remove()
    return seen


def test_an_adapter_on_the_words_values_changes_what_they_write_not_where_anything_looks(tiny_course_checkpoints):
    """WORD_TARGETS (lora-teal's U-Net adapter): only the cross-attention's value and output projections learn,
    so the first cross-attention layer's queries and keys (where each pixel looks for which word) stay the
    base U-Net's, while its values and the prediction change; an adapter on every projection moves them too."""
    pipe = fresh_pipeline()
    add_lora(pipe.unet, rank=2, targets=WORD_TARGETS)
    names = [n for n, p in pipe.unet.named_parameters() if p.requires_grad]
    assert names and all(".attn2.to_v." in n or ".attn2.to_out.0." in n for n in names)
    base = _first_cross_attention(fresh_pipeline().unet, None)
    words = _first_cross_attention(fresh_pipeline().unet, WORD_TARGETS)
    every = _first_cross_attention(fresh_pipeline().unet, LORA_TARGETS)
    assert torch.equal(words["to_q"], base["to_q"]) and torch.equal(words["to_k"], base["to_k"])
    assert not torch.allclose(words["to_v"], base["to_v"], atol=1e-4)
    assert not torch.allclose(words["prediction"], base["prediction"], atol=1e-4)
    assert not torch.allclose(every["to_k"], base["to_k"], atol=1e-4)          # the negative control


@pytest.mark.slow
def test_the_rebuild_script_gives_the_same_unet_adapter_with_the_vae_adapters_loaded(tmp_path, monkeypatch):
    """--vae-from skips training the VAE's adapters; the U-Net's adapter must not depend on that."""
    import importlib

    from safetensors.torch import load_file

    from course_utils import paths

    monkeypatch.syspath_prepend(str(paths.ROOT / "scripts"))
    script = importlib.import_module("train_lora_teal")
    short = ["--steps", "2", "--decoder-steps", "2", "--examples", "12", "--threads", "1", "--keep-unconditional",
             "--distil-drawn", "--unet-preserve-weight", "2", "--state", str(tmp_path / "state.safetensors")]
    script.main([*short, "--out", str(tmp_path / "full")])
    script.main([*short, "--out", str(tmp_path / "loaded"), "--vae-from", str(tmp_path / "full")])
    full, loaded = (load_file(str(tmp_path / f / "pytorch_lora_weights.safetensors")) for f in ("full", "loaded"))
    assert full.keys() == loaded.keys() and all(torch.equal(full[k], loaded[k]) for k in full)
    for f in ("vae_decoder_lora.safetensors", "vae_encoder_lora.safetensors"):
        a, b = load_file(str(tmp_path / "full" / f)), load_file(str(tmp_path / "loaded" / f))
        assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    log = json.loads((tmp_path / "loaded" / "training_log.json").read_text())
    assert log["vae_from"] == str(tmp_path / "full") and log["distil_drawn"] and log["keep_unconditional"]
    with pytest.raises(SystemExit):     # argparse's error: a folder without the VAE's adapters
        script.main([*short, "--out", str(tmp_path / "x"), "--vae-from", str(tmp_path / "nothing")])
    sys.modules.pop("train_lora_teal", None)


def test_the_rebuild_scripts_steps_bound_the_decoder_adapters_steps_too(monkeypatch):
    """`--steps 3` is a short run: the decoder's adapter trains at most --steps steps unless told otherwise."""
    import importlib

    from course_utils import paths

    monkeypatch.syspath_prepend(str(paths.ROOT / "scripts"))
    script = importlib.import_module("train_lora_teal")
    with torch.random.fork_rng():           # parsing seeds torch, as a training run wants
        shipped = json.loads((paths.checkpoint_dir("lora-teal") / "training_log.json").read_text())
        defaults = script.parse_args([])
        assert (defaults.decoder_steps, defaults.steps) == (shipped["decoder"]["steps"], shipped["steps"])  # the shipped run
        assert defaults.decoder_steps > 3
        assert script.parse_args(["--steps", "3"]).decoder_steps == 3
        assert script.parse_args(["--steps", "3", "--decoder-steps", "50"]).decoder_steps == 50
    assert "bounds the decoder" in script.__doc__
    sys.modules.pop("train_lora_teal", None)
