"""Reading a checkpoint's files with errors that name the file: a config with a missing key or bad
JSON, weights that are truncated or garbled. Each raises an OSError that names the file and says
how to rebuild it; `models.load_pretrained` adds the checkpoint's name and its script."""

from __future__ import annotations

import json
from pathlib import Path


def _rebuild(folder: Path) -> str:
    from .paths import KNOWN_CHECKPOINTS, ROOT

    script = KNOWN_CHECKPOINTS.get(Path(folder).name)
    return (f"rebuild it with: cd {ROOT} && python {script}" if script
            else "save the model again with save_pretrained")


def read_config(folder, required=(), file: str = "config.json") -> dict:
    """The JSON config in folder/file, holding every key in `required` (the settings the course's
    model was built with: one missing would silently fall back to a library default)."""
    path = Path(folder) / file
    try:
        config = json.loads(path.read_text())
    except (OSError, ValueError) as e:
        raise OSError(f"{path} is missing or not valid JSON ({type(e).__name__}); {_rebuild(folder)}") from e
    missing = sorted(set(required) - set(config)) if isinstance(config, dict) else ["(not a JSON object)"]
    if missing:
        raise OSError(f"{path} lacks the key(s) {', '.join(missing)}: it is damaged or from another version; "
                      f"{_rebuild(folder)}")
    return config


def read_weights(path) -> dict:
    """The tensors of a safetensors file, or an OSError naming the file if it is truncated or garbled."""
    from safetensors.torch import load_file

    path = Path(path)
    try:
        return load_file(str(path))
    except Exception as e:  # noqa: BLE001 - safetensors raises its own SafetensorError
        raise OSError(f"{path} is missing, truncated or garbled ({type(e).__name__}: {e}); "
                      f"{_rebuild(path.parent)}") from e
