import json
import sys

import numpy as np
import pytest
import torch

from course_utils import finetune, pipelines
from course_utils.models.vae import decode, encode


def test_teal_examples_are_teal_and_only_asked_colours():
    images, scenes, captions = finetune.teal_examples(12, seed=0, other_share=0.5)
    assert images.shape == (12, 3, 64, 64) and len(scenes) == len(captions) == 12
    colours = [s.objects[0].colour for s in scenes]
    assert "teal" in colours and any(c != "teal" for c in colours)
    assert all(("teal" in cap.lower()) == (c == "teal") for cap, c in zip(captions, colours))
    assert finetune.read_colours(images[[colours.index("teal")]]) == ["teal"]
    with pytest.raises(ValueError, match="colour"):
        finetune.teal_examples(2, colour="mauve")


def test_latents_for_brings_the_decoder_closer_to_the_picture():
    from course_utils.models import load_pretrained

    vae = load_pretrained("vae-shapes")
    images = finetune.teal_examples(2, seed=3)[0]
    before = (decode(vae, encode(vae, images)) - images).pow(2).mean()
    after = (decode(vae, finetune.latents_for(vae, images, steps=10) / vae.config.scaling_factor) - images).pow(2).mean()
    assert after < before


def _tiny_pipe():
    pipe = finetune.fresh_pipeline()
    assert pipe.unet is not pipelines.load_text_to_image().unet          # a copy: the cached pipeline stays as it was
    return pipe


def test_textual_inversion_trains_only_the_new_word_and_loads_back(tiny_course_checkpoints, tmp_path):
    pipe = _tiny_pipe()
    unet_before = {k: v.clone() for k, v in pipe.unet.state_dict().items()}
    table_before = pipe.text_encoder.get_input_embeddings().weight.detach().clone()
    latents = torch.randn(4, 4, 8, 8)
    vector, losses = finetune.learn_word(pipe, latents, ["a <teal> circle"] * 4, steps=3, batch_size=2)
    assert vector.shape == (384,) and len(losses) == 3
    assert not torch.allclose(vector, table_before[pipe.tokenizer.convert_tokens_to_ids("green")])   # it moved
    assert all(torch.equal(v, pipe.unet.state_dict()[k]) for k, v in unet_before.items())          # frozen
    assert torch.equal(pipe.text_encoder.get_input_embeddings().weight, table_before)
    path = tmp_path / "teal.safetensors"
    finetune.save_word(vector, "<teal>", path)
    finetune.load_word(pipe, path, "<teal>")
    row = pipe.text_encoder.get_input_embeddings().weight[pipe.tokenizer.convert_tokens_to_ids("<teal>")]
    assert torch.allclose(row, vector)
    with pytest.raises(ValueError, match="already a word"):
        finetune.learn_word(pipe, latents, ["a <teal> circle"] * 4, steps=1)
    with pytest.raises(ValueError, match="must contain"):
        finetune.learn_word(_tiny_pipe(), latents, ["a circle"] * 4, steps=1)


def test_lora_round_trip_and_scale_zero_is_the_base_model(tiny_course_checkpoints, tmp_path):
    pipe = _tiny_pipe()
    base = pipelines.load_text_to_image()
    finetune.add_lora(pipe.unet, rank=4)
    log = finetune.train_lora(pipe, torch.randn(4, 4, 8, 8), ["a teal star"] * 4, steps=2, batch_size=2,
                              out=tmp_path / "adapter")
    assert len(log["losses"]) == 2 and (tmp_path / "adapter" / "pytorch_lora_weights.safetensors").exists()
    with torch.no_grad():                                  # make the adapter's effect visible (B starts at 0)
        for name, p in pipe.unet.named_parameters():
            if "lora_B" in name:
                p.add_(0.5)
    finetune.save_lora(pipe.unet, tmp_path / "big")
    finetune.add_decoder_lora(pipe.vae, rank=2)
    with torch.no_grad():
        for name, p in pipe.vae.decoder.named_parameters():
            if "lora_B" in name:
                p.add_(0.05)
    finetune.save_decoder_lora(pipe.vae, tmp_path / "big")
    loaded = _tiny_pipe()
    finetune.load_lora(loaded, tmp_path / "big")                         # the U-Net's and the decoder's

    def image(p, **kw):
        return p("a teal star", num_inference_steps=2, generator=torch.Generator().manual_seed(0), output_type="pt",
                 guidance_scale=2.0, **kw).images

    assert torch.equal(image(loaded, **finetune.lora_scale(loaded, 0.0)), image(base))   # both adapters off
    assert not torch.allclose(image(loaded, **finetune.lora_scale(loaded, 1.0)), image(base), atol=1e-3)
    assert torch.allclose(image(loaded, **finetune.lora_scale(loaded, 1.0)), image(pipe), atol=1e-5)  # saved = trained
    finetune.decoder_adapter(loaded.vae, False)
    loaded.unload_lora_weights()
    assert torch.equal(image(loaded), image(base))
    with pytest.raises(ValueError, match="no adapter"):
        finetune.decoder_adapter(base.vae, True)


def test_decoder_adapter_trains_only_its_own_numbers(tiny_course_checkpoints):
    pipe = _tiny_pipe()
    before = {k: v.clone() for k, v in pipe.vae.state_dict().items()}
    finetune.add_decoder_lora(pipe.vae, rank=2)
    log = finetune.train_decoder_lora(pipe.vae, finetune.teal_examples(4, seed=0)[0], steps=2, batch_size=2)
    assert len(log["losses"]) == 2
    after = pipe.vae.state_dict()
    assert all(torch.equal(v, after[k.replace(".weight", ".base_layer.weight").replace(".bias", ".base_layer.bias")]
                           if k not in after else after[k]) for k, v in before.items())


def _prediction(unet, seed=0):
    g = torch.Generator().manual_seed(seed)
    x, ctx = torch.randn(2, 4, 8, 8, generator=g), torch.randn(2, 32, unet.config.cross_attention_dim, generator=g)
    with torch.no_grad():
        return unet(x, torch.tensor([10, 900]), encoder_hidden_states=ctx).sample


@pytest.mark.parametrize("preserve", [True, False])
def test_preserved_examples_train_the_adapter_toward_the_base_model(tiny_course_checkpoints, preserve):
    pipe = _tiny_pipe()
    base = _prediction(pipe.unet)
    finetune.add_lora(pipe.unet, rank=4)
    log = finetune.train_lora(pipe, torch.randn(4, 4, 8, 8), ["a teal star"] * 4, steps=3, batch_size=2, lr=1e-2,
                              preserve=[preserve] * 4)
    if preserve:       # the adapter starts as the base model, so every target is what it already predicts
        assert log["losses"] == [0.0] * 3 and torch.equal(_prediction(pipe.unet), base)
    else:              # negative control: v targets move it
        assert min(log["losses"]) > 0 and not torch.allclose(_prediction(pipe.unet), base, atol=1e-4)
    with pytest.raises(ValueError, match="one True/False per example"):
        finetune.train_lora(pipe, torch.randn(4, 4, 8, 8), ["a teal star"] * 4, steps=1, preserve=[True] * 3)


def test_the_preserved_examples_weight_keeps_the_adapter_nearer_the_base_model(tiny_course_checkpoints):
    distance = {}
    for weight in (0.0, 100.0):
        pipe = _tiny_pipe()
        base = _prediction(pipe.unet)
        finetune.add_lora(pipe.unet, rank=4)
        torch.manual_seed(0)
        finetune.train_lora(pipe, torch.randn(4, 4, 8, 8), ["a teal star", "a red star"] * 2, steps=20, batch_size=4,
                            lr=1e-2, preserve=[False, True] * 2, preserve_weight=weight)
        distance[weight] = (_prediction(pipe.unet) - base).abs().mean().item()
    assert 0 < distance[100.0] < 0.5 * distance[0.0], distance


@pytest.mark.parametrize("keep", [True, False])
def test_keep_unconditional_leaves_the_dropped_captions_prediction_alone(tiny_course_checkpoints, monkeypatch, keep):
    monkeypatch.setattr("course_utils.models.unet_shapes.CAPTION_DROPOUT", 1.0)    # every caption dropped
    pipe = _tiny_pipe()
    base = _prediction(pipe.unet)
    finetune.add_lora(pipe.unet, rank=4)
    log = finetune.train_lora(pipe, torch.randn(4, 4, 8, 8), ["a teal star"] * 4, steps=3, batch_size=2, lr=1e-2,
                              keep_unconditional=keep)
    if keep:           # every example is then preserved: the targets are what the adapter already predicts
        assert log["losses"] == [0.0] * 3 and torch.equal(_prediction(pipe.unet), base)
    else:              # negative control: the unconditional prediction learns the new pictures
        assert min(log["losses"]) > 0 and not torch.allclose(_prediction(pipe.unet), base, atol=1e-4)


def test_an_adapter_on_the_convolutions_too_saves_and_loads_back(tiny_course_checkpoints, tmp_path):
    pipe = _tiny_pipe()
    finetune.add_lora(pipe.unet, rank=2, targets=finetune.LORA_TARGETS + finetune.CONV_TARGETS)
    names = [n for n, p in pipe.unet.named_parameters() if p.requires_grad]
    assert any("conv1.lora_A" in n for n in names) and any("attn2.to_k.lora_A" in n for n in names)
    with torch.no_grad():
        for name, p in pipe.unet.named_parameters():
            if "lora_B" in name:
                p.add_(0.1)
    finetune.save_lora(pipe.unet, tmp_path)
    loaded = _tiny_pipe()
    loaded.load_lora_weights(str(tmp_path))
    assert torch.allclose(_prediction(loaded.unet), _prediction(pipe.unet), atol=1e-5)
    assert not torch.allclose(_prediction(_tiny_pipe().unet), _prediction(pipe.unet), atol=1e-3)


def test_drawn_latents_are_what_the_pipeline_decodes(tiny_course_checkpoints):
    pipe = _tiny_pipe()
    prompts = ["a red circle", "a blue star on black"]
    z = finetune.drawn_latents(pipe, prompts, seed=3, guidance_scales=(2.0, 5.0), steps=2)
    assert z.shape == (4, 4, 8, 8)
    images = pipe(prompts, generator=torch.Generator().manual_seed(4), output_type="pt", guidance_scale=5.0,
                  num_inference_steps=2).images                     # the second batch: guidance 5, seed 3 + 1
    assert torch.allclose(decode(pipe.vae, z[2:]), images, atol=1e-4)


def test_preserved_latents_keep_the_decoder_near_the_base_one(tiny_course_checkpoints):
    pipe = _tiny_pipe()
    images = finetune.teal_examples(8, seed=0)[0]
    keep = torch.randn(8, 4, 8, 8)
    base = decode(pipe.vae, keep)
    drift = {}
    for preserve in (True, False):
        vae = _tiny_pipe().vae
        finetune.add_decoder_lora(vae, rank=2)
        finetune.train_decoder_lora(vae, images, steps=40, lr=1e-2, batch_size=4,
                                    preserve_latents=keep if preserve else None)
        drift[preserve] = (decode(vae, keep) - base).abs().mean().item()
    assert drift[True] < 0.75 * drift[False]        # negative control: without, the adapter moves them freely
    with pytest.raises(ValueError, match="like the encoder's latents"):
        finetune.train_decoder_lora(vae, images, steps=1, preserve_latents=torch.randn(2, 3, 8, 8))


def test_an_encoder_adapter_moves_only_the_new_colours_latents_and_loads_back(tiny_course_checkpoints, tmp_path):
    images = finetune.teal_examples(8, seed=0, other_share=0.5)[0]
    new = torch.tensor([True] * 4 + [False] * 4)
    base = encode(_tiny_pipe().vae, images)
    moved = {}
    for held in (True, False):                      # negative control: every picture called new, none held
        pipe = _tiny_pipe()
        finetune.add_decoder_lora(pipe.vae, rank=2, encoder=True)
        finetune.train_decoder_lora(pipe.vae, images, steps=20, lr=1e-2, batch_size=8,
                                    new=new if held else torch.ones(8, dtype=torch.bool), noise=0.2)
        moved[held] = (encode(pipe.vae, images) - base).abs()[~new].mean().item()
    assert moved[True] < 0.5 * moved[False]          # the old colours' latents are held where the U-Net knows them
    finetune.add_lora(pipe.unet, rank=2)
    finetune.save_lora(pipe.unet, tmp_path)
    finetune.save_decoder_lora(pipe.vae, tmp_path)
    assert (tmp_path / "vae_encoder_lora.safetensors").exists()
    loaded = _tiny_pipe()
    finetune.load_lora(loaded, tmp_path)
    assert torch.allclose(encode(loaded.vae, images), encode(pipe.vae, images), atol=1e-5)
    assert not torch.allclose(encode(loaded.vae, images), base, atol=1e-3)
    finetune.lora_scale(loaded, 0.0)                             # off: the base encoder (to rounding)
    assert torch.allclose(encode(loaded.vae, images), base, atol=1e-6)
    with pytest.raises(ValueError, match="one True/False per picture"):
        finetune.train_decoder_lora(pipe.vae, images, steps=1, new=[True])


def test_recoloured_draws_the_same_scene_in_each_colour_and_only_the_object_changes():
    images, scenes, _ = finetune.teal_examples(3, seed=1)
    apart = finetune.recoloured(scenes, ["red", "teal"])
    assert apart.shape == (3, 2, 3, 64, 64)
    assert torch.equal(apart[:, 1], images)                         # teal again: the very pictures
    changed = (apart[:, 0] - images).abs().amax(1) > 0               # red: only the object's pixels move
    found = finetune._off_background(images * 2 - 1)[:, 0] > 0       # what the helper calls "not background"
    assert changed.any() and (changed & ~found).float().mean() < 0.002 and found.float().mean() < 0.5
    assert finetune.read_colours(apart[:, 0]) == ["red"] * 3
    with pytest.raises(ValueError, match="colours must be some of"):
        finetune.recoloured(scenes, ["cyan"])


def test_a_margin_pushes_the_new_colours_latents_away_from_the_old_colours(tiny_course_checkpoints):
    images, scenes, _ = finetune.teal_examples(8, seed=0)
    apart = finetune.recoloured(scenes, ["green", "blue"])
    base = _tiny_pipe().vae
    others = encode(base, apart.flatten(0, 1)).unflatten(0, (8, 2))
    where = torch.nn.functional.avg_pool2d((apart - images[:, None]).abs().amax(2).gt(0.02).float(), 8)   # the object
    gaps = {}
    for margin in (3.0, 0.0):                                         # negative control: no margin, no push
        pipe = _tiny_pipe()
        finetune.add_decoder_lora(pipe.vae, rank=2, encoder=True)
        log = finetune.train_decoder_lora(pipe.vae, images, steps=15, lr=1e-2, batch_size=8,
                                          new=torch.ones(8, dtype=torch.bool), apart=apart, margin=margin,
                                          object_weight=5.0)
        assert all(np.isfinite(log["losses"]))
        gap = (encode(pipe.vae, images)[:, None] - others).norm(dim=2)
        gaps[margin] = ((gap * where).sum() / where.sum()).item()
    assert gaps[3.0] > 1.5 * gaps[0.0], gaps
    with pytest.raises(ValueError, match="apart must be shaped"):
        finetune.train_decoder_lora(pipe.vae, images, steps=1, apart=apart[:4], margin=1.0)
    with pytest.raises(ValueError, match="margin"):
        finetune.train_decoder_lora(pipe.vae, images, steps=1, apart=apart, margin=-1.0)


def test_load_vae_lora_says_what_is_missing(tiny_course_checkpoints, tmp_path):
    with pytest.raises(FileNotFoundError, match="no VAE adapter"):
        finetune.load_vae_lora(_tiny_pipe().vae, tmp_path)


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
        assert script.parse_args([]).decoder_steps == 600 and script.parse_args([]).steps == 1500   # the shipped run
        assert script.parse_args(["--steps", "3"]).decoder_steps == 3
        assert script.parse_args(["--steps", "3", "--decoder-steps", "50"]).decoder_steps == 50
    assert "bounds the decoder" in script.__doc__
    sys.modules.pop("train_lora_teal", None)


class _Clock:
    """A fake clock: each reading is one second later."""
    def __init__(self):
        self.t = 0.0

    def __call__(self):
        self.t += 1.0
        return self.t


def test_live_demo_stops_a_real_trainer_on_time_and_keeps_its_word(tiny_course_checkpoints, capsys):
    pipe = _tiny_pipe()
    latents = torch.randn(4, 4, 8, 8)
    # the clock ticks a second per step: steps start at 0, 1, 2 and 3 s; the fifth would start at 4 s > 3.5 s
    run = finetune.live_demo(finetune.learn_word, pipe, latents, ["a <teal> circle"] * 4, steps=50, batch_size=2,
                             seconds=3.5, clock=_Clock())
    assert (run.stopped_by, run.steps, len(run.losses)) == ("time", 4, 4)
    assert run.model.vector.shape == (384,)
    assert "time is up (3.5 s) after 4 steps" in capsys.readouterr().out
    done = finetune.live_demo(finetune.learn_word, _tiny_pipe(), latents, ["a <teal> circle"] * 4, steps=2,
                              batch_size=2, seconds=100, clock=_Clock())
    assert (done.stopped_by, done.steps) == ("steps", 2)


def test_live_demo_ends_an_interrupted_trainer_without_a_traceback(capsys):
    def trainer(callback, every, steps):
        for step in range(1, steps + 1):
            if step == 3:
                raise KeyboardInterrupt            # the stop button, in the middle of step 3
            callback(step, [1.0] * step, "model")

    run = finetune.live_demo(trainer, steps=10, seconds=60)
    assert (run.stopped_by, run.steps, run.model) == ("interrupt", 2, "model")
    assert "stopped by you" in capsys.readouterr().out
    with pytest.raises(ValueError, match="seconds"):
        finetune.live_demo(trainer, steps=1, seconds=0)
