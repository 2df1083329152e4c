"""Where the course keeps its files: the repository root, shipped checkpoints, figures."""

from __future__ import annotations

import os
from pathlib import Path

from .registry import REGISTRY

ROOT = Path(__file__).resolve().parent.parent
CHECKPOINTS = Path(os.environ.get("COURSE_CHECKPOINTS", ROOT / "assets" / "checkpoints"))

# name -> the script that rebuilds it (course_utils/registry.py lists everything else)
KNOWN_CHECKPOINTS = {name: entry.script for name, entry in REGISTRY.items()}


def checkpoint_dir(name: str, must_exist: bool = True) -> Path:
    """Return the folder of a shipped checkpoint, with an actionable error if it is missing.

    Example: checkpoint_dir("ddpm-digits") -> .../assets/checkpoints/ddpm-digits"""
    if not isinstance(name, str) or name not in KNOWN_CHECKPOINTS:
        raise ValueError(f"unknown checkpoint {name!r:.60}: name must be one the course ships: "
                         f"{', '.join(KNOWN_CHECKPOINTS)}")
    path = CHECKPOINTS / name
    if must_exist and not any(path.glob("**/*.safetensors")):
        raise FileNotFoundError(
            f"checkpoint {name!r} not found in {path}. Rebuild it from the repository root ({ROOT}) "
            f"with: python {KNOWN_CHECKPOINTS[name]}"
        )
    return path


def is_fast() -> bool:
    """True when COURSE_FAST=1 (CI): live training demos run shorter, nothing else changes."""
    return os.environ.get("COURSE_FAST", "0") not in ("", "0", "false", "False")
