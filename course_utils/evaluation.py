"""How the text-to-image cards measure: three prompt sets that never share a prompt, and rates
that carry their 95 % intervals and per-prompt verdicts (for paired tests).

- DEV (seed 11): the training curve (`scripts/train_unet_shapes.py`), which decides when to stop.
- SELECTION (seed 7): where sampling settings (guidance w, the guidance lever, steps) are chosen.
- REPORT (seed 2024): what a card reports, with the settings chosen on SELECTION.
Each set is the seed's scene stream with every prompt that an earlier set holds skipped, so the
three are disjoint by construction (tests/test_evaluation.py checks the sizes the cards use).
Wordings are the held-out or free-form ones, which no training caption can hold (captions.py).

Example: scenes = prompt_set("report", 300, two_object_fraction=0.0)
         row = measure(pipe, scenes, guidance_scale=2.0); row["rates"]["all"]   # {'k', 'n', 'rate', 'low', 'high'}"""

from __future__ import annotations

from functools import lru_cache

from . import data
from . import validate as v
from .shapes import WORDINGS

SEEDS = {"dev": 11, "selection": 7, "report": 2024}
ORDER = ("dev", "selection", "report")      # each set skips the prompts of the sets before it
LARGEST = {"dev": 64, "selection": 300, "report": 1000}   # the most prompts of one kind each set is drawn with:
# the dev set is the training script's 64 a kind; a set drawn larger could meet a later set's prompts


@lru_cache(maxsize=64)
def _captions(name: str, two_object_fraction: float, wording: str) -> frozenset:
    return frozenset(s.caption for s in prompt_set(name, LARGEST[name], two_object_fraction, wording))


def prompt_set(name: str, n: int, two_object_fraction: float = 0.0, wording: str = "heldout") -> list:
    """The first n scenes of set `name` ("dev", "selection" or "report") whose prompts no earlier
    set holds (at its LARGEST size, same kind): shapes.Scene objects, .caption the prompt.

    The dev set is the training script's (its first n scenes, nothing skipped)."""
    v.one_of("name", name, ORDER)
    n = v.whole("n", n, 1, LARGEST[name])
    v.number("two_object_fraction", two_object_fraction, 0.0, 1.0)
    v.one_of("wording", wording, WORDINGS)
    earlier = frozenset().union(*(_captions(e, two_object_fraction, wording) for e in ORDER[:ORDER.index(name)]))
    out, i = [], 0
    while len(out) < n:
        scene = data.shapes_scene(SEEDS[name], i, two_object_fraction, wording)
        if scene.caption not in earlier:
            out.append(scene)
        i += 1
    return out


def measure(pipe, scenes, extra_colours: tuple = (), seed: int = 0, **kwargs) -> dict:
    """Generate one picture per scene's prompt (pipelines.generate: seeded, batch i seed + i) and
    judge it from the pixels. Returns {'n', 'rates': {key: Rate.as_dict()}, 'verdicts': [...]}:
    the verdicts, one dict per prompt, let `compare` pair two settings on the same prompts."""
    from . import metrics, pipelines, stats

    if not scenes:
        raise ValueError("measure needs at least one scene: prompt_set('report', 300) gives a list.")
    images = pipelines.generate(pipe, [s.caption for s in scenes], seed=seed, **kwargs)
    verdicts = metrics.judge(images, scenes, extra_colours)
    return {"n": len(scenes), "rates": {k: r.as_dict() for k, r in stats.rates(verdicts).items()},
            "verdicts": [{k: bool(x) for k, x in it.items()} for it in verdicts]}


def compare(a: dict, b: dict, key: str = "all") -> dict:
    """The exact McNemar test of two `measure` rows on the same prompts, for one key ("all",
    "colour", ..., "both_objects")."""
    from . import stats

    for name, row in (("a", a), ("b", b)):
        if not isinstance(row, dict) or "verdicts" not in row:
            raise ValueError(f"{name} must be a row that evaluation.measure returned (it has 'verdicts').")
    va = [it[key] for it in a["verdicts"] if key in it]
    vb = [it[key] for it in b["verdicts"] if key in it]
    if not va:
        raise ValueError(f"no verdict holds {key!r}: single-object rows have 'all', two-object rows 'both_objects'.")
    return stats.mcnemar(va, vb)
