"""A damaged checkpoint names itself, the damaged file and the command that rebuilds it."""

import json
import shutil

import pytest

import course_utils.paths as paths
from course_utils import models


@pytest.fixture()
def copy_of(tmp_path, monkeypatch):
    def make(name):
        shutil.copytree(paths.CHECKPOINTS / name, tmp_path / name)
        monkeypatch.setattr(paths, "CHECKPOINTS", tmp_path)
        monkeypatch.setattr(models, "_CACHE", {})
        return tmp_path / name
    return make


def _drop(config, key):
    d = json.loads(config.read_text())
    d.pop(key)
    config.write_text(json.dumps(d))


@pytest.mark.parametrize("name, file, damage", [
    ("rbm-digits", "model.safetensors", "garble"),
    ("gan-digits", "generator.safetensors", "truncate"),
    ("vae-shapes", "config.json", "scaling_factor"),          # would load diffusers' 0.18215 silently
    ("unet-shapes", "config.json", "block_out_channels"),
    ("flow-digits", "config.json", "sample_size"),
    ("ddpm-digits", "unet/config.json", "in_channels"),
    ("rbm-digits", "config.json", "n_hidden"),
])
def test_a_damaged_checkpoint_names_itself_its_file_and_the_rebuild(copy_of, name, file, damage):
    path = copy_of(name) / file
    if damage == "garble":
        data = bytearray(path.read_bytes())
        data[8:100] = b"x" * 92
        path.write_bytes(bytes(data))
    elif damage == "truncate":
        path.write_bytes(path.read_bytes()[:500])
    else:
        _drop(path, damage)
    script = paths.KNOWN_CHECKPOINTS[name]
    with pytest.raises(RuntimeError) as e:
        models.load_pretrained(name, "cpu")
    message = str(e.value)
    assert repr(name) in message and str(path) in message and f"python {script}" in message
    assert str(paths.ROOT) in message                          # runs from any folder
