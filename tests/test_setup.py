import importlib
import random

import numpy as np
import pytest
import torch

import course_utils
from course_utils.setup import check_dtype, environment_report, pick_device
from course_utils.setup import setup as course_setup  # a bare `setup` is a pytest fixture name

setup_mod = importlib.import_module("course_utils.setup")  # course_utils.setup is the function


def test_setup_seeds_everything_the_same_way():
    course_setup(seed=3, verbose=False)
    a = (random.random(), np.random.rand(), torch.rand(1).item())
    course_setup(seed=3, verbose=False)
    b = (random.random(), np.random.rand(), torch.rand(1).item())
    course_setup(seed=4, verbose=False)
    c = (random.random(), np.random.rand(), torch.rand(1).item())
    assert a == b and a != c


def test_setup_returns_the_device_and_is_importable_from_the_package(monkeypatch):
    assert course_utils.setup is course_setup
    assert course_setup(verbose=False) == pick_device()
    monkeypatch.setattr(setup_mod, "pick_device", lambda: torch.device("meta"))   # one that no machine picks
    assert course_setup(verbose=False) == torch.device("meta")


@pytest.mark.parametrize("cuda, mps, expected", [(True, True, "cuda"), (False, True, "mps"), (False, False, "cpu")])
def test_the_one_device_rule_is_cuda_then_mps_then_cpu(monkeypatch, cuda, mps, expected):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: cuda)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: mps)
    assert pick_device() == torch.device(expected)


def test_setup_prints_the_self_check_once(capsys, monkeypatch):
    monkeypatch.setattr(setup_mod, "_PRINTED", False)
    course_setup()
    first = capsys.readouterr().out
    course_setup()
    second = capsys.readouterr().out
    for word in ("torch", "diffusers", "transformers", "device", "checkpoints", "offline"):
        assert word in first
    assert second == ""


def test_setup_keeps_the_hub_offline_by_default(monkeypatch):
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    course_setup(verbose=False)
    import os

    assert os.environ["HF_HUB_OFFLINE"] == "1"
    assert "offline" in environment_report(torch.device("cpu"))


def test_half_precision_on_cpu_warns_in_plain_words():
    assert check_dtype(torch.device("cpu"), torch.float32) == []
    (msg,) = check_dtype(torch.device("cpu"), torch.float16)
    assert "float32" in msg and "GPU" in msg
    with pytest.warns(UserWarning, match="half precision"):
        course_setup(dtype=torch.float16, verbose=False)


def test_a_missing_package_is_named(monkeypatch):
    monkeypatch.setattr(setup_mod, "PACKAGES", ("torch", "no_such_package_xyz"))
    with pytest.warns(UserWarning, match="no_such_package_xyz.*make lab"):
        course_setup(verbose=False)
