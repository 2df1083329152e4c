"""Model cards rendered from measurements: assets/checkpoints/<name>/README.md is
course_utils/card_templates/<name>.md.jinja filled with that folder's metrics.json (written by
scripts/evaluate_checkpoints.py), training_log.json (written by the training script) and
config. No number in a card is typed by hand; prose about what did not work stays prose.

    python scripts/evaluate_checkpoints.py unet-shapes            # measure, write metrics.json, render
    python scripts/evaluate_checkpoints.py unet-shapes --render   # render again from metrics.json"""

from __future__ import annotations

import json
from pathlib import Path

TEMPLATES = Path(__file__).resolve().parent / "card_templates"


def _read(path: Path) -> dict:
    return json.loads(path.read_text()) if path.exists() else {}


def pct(x: float, digits: int = 1) -> str:
    """0.8125 -> '81.2 %' (the cards' way of writing a share)."""
    return f"{100 * x:.{digits}f} %"


def render_card(name: str) -> str:
    """The model card of checkpoint `name`, rendered from its measurements."""
    import jinja2

    from .paths import checkpoint_dir

    folder = checkpoint_dir(name)
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES), undefined=jinja2.StrictUndefined,
                             keep_trailing_newline=True, trim_blocks=True, lstrip_blocks=True)
    env.filters["pct"] = pct
    config = _read(folder / "config.json") or _read(folder / "unet" / "config.json")
    return env.get_template(f"{name}.md.jinja").render(
        m=_read(folder / "metrics.json"), log=_read(folder / "training_log.json"), config=config, name=name,
        audit=_read(folder / "reader_audit.json"))
