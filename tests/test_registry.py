import shutil

import pytest
import torch

from course_utils import models
from course_utils.paths import ROOT
from course_utils.registry import REGISTRY

KINDS = {"rbm-digits": "RBM", "gan-digits": "tuple", "ddpm-digits": "DDPMPipeline", "vae-shapes": "AutoencoderKL",
         "unet-shapes": "UNet2DConditionModel", "flow-digits": "UNet2DModel",
         "lora-teal": "StableDiffusionPipeline", "lcm-shapes": "StableDiffusionPipeline"}


def test_the_registry_is_the_one_list_of_checkpoints():
    """What is on the disk, counted apart from the registry: every shipped folder and every training
    script has its entry, and every entry has both."""
    shipped = {p.name for p in (ROOT / "assets" / "checkpoints").iterdir() if p.is_dir()}
    scripts = {p.stem.removeprefix("train_").replace("_", "-") for p in (ROOT / "scripts").glob("train_*.py")}
    assert set(REGISTRY) == shipped == scripts == set(KINDS)
    for name, entry in REGISTRY.items():
        assert entry.script == f"scripts/train_{name.replace('-', '_')}.py"


@pytest.mark.parametrize("name", list(KINDS))
def test_every_shipped_name_loads_on_the_device_asked_for(name):
    model = models.load_pretrained(name, device="cpu")
    assert type(model).__name__ == KINDS[name]
    assert models.load_pretrained(name, "cpu") is model  # cached
    first = model[0] if isinstance(model, tuple) else getattr(model, "unet", model)
    assert next(first.parameters()).device.type == "cpu"


@pytest.mark.parametrize("name", [n for n, e in REGISTRY.items() if e.sampler])
def test_every_sampler_is_seeded_and_in_unit_range(name):
    steps = {"rbm-digits": 20, "ddpm-digits": 3, "flow-digits": 3}.get(name)
    a = models.sample(name, 3, seed=5, steps=steps)
    assert a.shape[0] == 3 and a.min() >= 0 and a.max() <= 1
    assert torch.equal(a, models.sample(name, 3, seed=5, steps=steps))


def test_models_without_a_sampler_say_what_to_use_instead():
    with pytest.raises(ValueError, match="load_text_to_image"):
        models.sample("unet-shapes", 2)
    with pytest.raises(ValueError, match="autoencoder"):
        models.sample("vae-shapes", 2)
    for adapter in ("lora-teal", "lcm-shapes"):
        with pytest.raises(ValueError, match="text-to-image pipeline; call it with a prompt"):
            models.sample(adapter, 2)
    with pytest.raises(ValueError, match="takes no steps"):
        models.sample("gan-digits", 2, steps=10)
    with pytest.raises(ValueError, match="steps must be"):
        models.sample("ddpm-digits", 2, steps=0)
    with pytest.raises(TypeError, match="n must be a whole number"):
        models.sample("ddpm-digits", 2.5)


def test_a_truncated_checkpoint_names_itself_and_its_rebuild_command(tmp_path, monkeypatch):
    import course_utils.paths as paths

    shutil.copytree(paths.CHECKPOINTS / "vae-shapes", tmp_path / "vae-shapes")
    weights = tmp_path / "vae-shapes" / "diffusion_pytorch_model.safetensors"
    weights.write_bytes(weights.read_bytes()[:1000])
    monkeypatch.setattr(paths, "CHECKPOINTS", tmp_path)
    monkeypatch.setattr(models, "_CACHE", {})
    with pytest.raises(RuntimeError, match=r"'vae-shapes'.*python scripts/train_vae_shapes.py"):
        models.load_pretrained("vae-shapes", "cpu")


@pytest.mark.parametrize("call, words", [
    (lambda: models.load_pretrained("rbm-digits", device="x"), "device"),
    (lambda: models.load_pretrained("rbm-digits", device=-1), "device"),
    (lambda: models.load_pretrained(["rbm-digits"]), "name"),
    (lambda: models.sample([]), "name"),
    (lambda: models.sample("gan-digits", 2, seed=-1), "seed"),
])
def test_load_and_sample_name_the_argument_they_refuse(call, words):
    with pytest.raises(ValueError, match=words):
        call()
