"""`setup(seed)`: one call at the top of every notebook.

Seeds every random number generator, picks the device (cuda -> mps -> cpu), sets one plot
style, keeps the Hugging Face libraries offline unless asked otherwise, and prints a short
self-check so that a broken environment shows up here and not as a traceback later."""

from __future__ import annotations

import importlib
import random
import warnings

import numpy as np
import torch

from .paths import CHECKPOINTS, KNOWN_CHECKPOINTS

_PRINTED = False
PACKAGES = ("torch", "diffusers", "transformers", "ipywidgets", "matplotlib", "sklearn", "skimage")


def seed_everything(seed: int = 0) -> None:
    """Seed `random`, NumPy and torch (all devices) with one number."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def pick_device() -> torch.device:
    """The one device rule of the course: cuda, else Apple's mps, else the cpu."""
    if torch.cuda.is_available():
        return torch.device("cuda")
    if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


def set_plot_style() -> None:
    """One plot style for every figure of the course."""
    import matplotlib.pyplot as plt

    plt.rcParams.update({
        "figure.dpi": 100, "savefig.dpi": 100, "figure.facecolor": "white",
        "axes.grid": False, "axes.spines.top": False, "axes.spines.right": False,
        "font.size": 10, "axes.titlesize": 10, "image.interpolation": "nearest",
    })


def missing_packages() -> list[str]:
    """Names of course packages that cannot be imported."""
    missing = []
    for name in PACKAGES:
        try:
            importlib.import_module(name)
        except ImportError:
            missing.append(name)
    return missing


def _version(name: str) -> str:
    try:
        return importlib.import_module(name).__version__
    except Exception:  # noqa: BLE001 - a self-check must not crash
        return "missing"


def check_dtype(device: torch.device, dtype: torch.dtype) -> list[str]:
    """Plain-words warnings about a device/dtype pair known to break or crawl."""
    if device.type == "cpu" and dtype in (torch.float16, torch.bfloat16):
        return [f"{dtype} on the CPU is slow and some layers lack half-precision kernels; "
                "use torch.float32 on a CPU (half precision is for GPUs)."]
    return []


def setup(seed: int = 0, offline: bool = True, dtype: torch.dtype = torch.float32,
          verbose: bool | None = None) -> torch.device:
    """Seed everything, pick the device, set the plot style; returns the device.

    offline=True keeps the hub offline (as `import course_utils` made it), unless go_online() was
    called or the environment said HF_HUB_OFFLINE=0; offline=False is `go_online()`.
    Example: from course_utils import setup; device = setup(seed=0)"""
    from . import network
    from .validate import whole

    global _PRINTED
    seed_everything(whole("seed", seed, 0, 2**32 - 1))
    network.go_online() if not offline else network.default_offline()
    device = pick_device()
    set_plot_style()
    from .solutions import register

    register()  # the `%%solution` cell magic of the exercises (course_utils/solutions.py)
    problems = check_dtype(device, dtype)
    missing = missing_packages()
    if missing:
        problems.append(f"missing packages: {', '.join(missing)}. Run `make lab` (or "
                        "`pip install -r requirements.txt`) from the course folder.")
    for p in problems:
        warnings.warn(p, stacklevel=2)
    if verbose or (verbose is None and not _PRINTED):
        print(environment_report(device, dtype))
        _PRINTED = True
    return device


def environment_report(device: torch.device, dtype: torch.dtype = torch.float32) -> str:
    """The self-check that `setup` prints: versions, device, checkpoints, offline mode."""
    versions = ", ".join(f"{n} {_version(n)}" for n in ("torch", "diffusers", "transformers"))
    present = [n for n in KNOWN_CHECKPOINTS if any((CHECKPOINTS / n).glob("**/*.safetensors"))]
    absent = [n for n in KNOWN_CHECKPOINTS if n not in present]
    from .network import is_offline

    offline = is_offline()
    lines = [
        f"versions : {versions}",
        f"device   : {device.type} ({dtype}), {torch.get_num_threads()} CPU threads",
        f"checkpoints: {len(present)}/{len(KNOWN_CHECKPOINTS)} present"
        + (f" (missing: {', '.join(absent)})" if absent else ""),
        f"network  : {'offline: nothing is downloaded (go_online() to allow it)' if offline else 'online: hub models may be downloaded'}",
    ]
    return "\n".join(lines)
