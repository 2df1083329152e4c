"""Captions for Shapes World in many wordings, so that a text-to-image model learns what the
words mean rather than one sentence pattern.

Three wordings exist besides the original 'train' templates of `shapes.make_caption`:

- 'varied': the grammar `unet-shapes` v2 trains on: synonyms, free word order, sentences and
  terse lists, capitals, a few abbreviations, size or background sometimes left out, and two
  objects bound to their attributes in several ways;
- 'heldout' (in shapes.py): phrases no training caption uses ("toward the upper left", "tiny");
- 'freeform': prompts the way people type them ("make me a big red circle, top left please",
  "blue star small lower right white"), written by templates that no training caption uses.
  They share the training vocabulary, not its sentence patterns.

A caption may leave an attribute out ("a red circle in the top left"); the scene then lists it
in `scene.unsaid`, and `metrics.adherence` does not hold the picture to it.

Example: varied_caption(scene, np.random.default_rng(0)) -> 'top-left corner: a big red disc, grey bg'"""

from __future__ import annotations

import re

import numpy as np

# Shape and size words of the 'varied' grammar ('tiny' and 'huge' stay held out).
SHAPE_WORDS = {"circle": ["circle", "circle", "disc", "disk"], "square": ["square", "square", "box"],
               "triangle": ["triangle"], "star": ["star"]}
SIZE_WORDS = {"small": ["small", "little", "smaller", "sm", "small-sized"],
              "large": ["large", "big", "bigger", "lg", "large-sized"]}
BACKGROUND_WORDS = {"black": ["black"], "white": ["white"], "gray": ["gray", "grey"]}
# Position phrases, with and without a preposition. None of them is a held-out phrase.
POSITION_PHRASES = {
    "top left": ["top left", "top-left", "upper left", "top left corner", "upper-left corner", "TL"],
    "top": ["top", "top middle", "top centre", "top center", "upper middle", "middle top"],
    "top right": ["top right", "top-right", "upper right", "top right corner", "upper-right corner", "TR"],
    "left": ["left", "middle left", "left side", "centre left", "center left", "left middle"],
    "center": ["center", "centre", "middle", "dead center", "central", "very middle"],
    "right": ["right", "middle right", "right side", "centre right", "center right", "right middle"],
    "bottom left": ["bottom left", "bottom-left", "lower left", "bottom left corner", "lower-left corner", "BL"],
    "bottom": ["bottom", "bottom middle", "bottom centre", "bottom center", "lower middle", "middle bottom"],
    "bottom right": ["bottom right", "bottom-right", "lower right", "bottom right corner", "lower-right corner", "BR"],
}
PREPOSITIONS = ["in the", "at the", "on the", "", ""]
BACKGROUND_FORMS = ["on a {bg} background", "{bg} background", "on {bg}", "against {bg}",
                    "{bg} bg", "with a {bg} backdrop", "behind it: {bg}"]
VERBS = ["", "", "", "draw ", "an image of ", "show ", "render ", "generate "]  # not "a picture of": held out


def _pick(rng: np.random.Generator, options):
    return options[int(rng.integers(len(options)))]


def _case(text: str, rng: np.random.Generator) -> str:
    """Capitals as people type them (the course's tokenizer lower-cases, so this is free)."""
    r = rng.random()
    return text.upper() if r < 0.05 else text.capitalize() if r < 0.25 else text


def _words(obj, rng, unsaid: set, size_optional: bool = True) -> dict:
    """The words for one object: size (maybe left out), colour, shape, position phrase."""
    size = "" if size_optional and rng.random() < 0.15 else _pick(rng, SIZE_WORDS[obj.size])
    if not size:
        unsaid.add("size")
    prep = _pick(rng, PREPOSITIONS)
    pos = _pick(rng, POSITION_PHRASES[obj.position])
    return {"size": size, "colour": obj.colour, "shape": _pick(rng, SHAPE_WORDS[obj.shape]),
            "pos": f"{prep} {pos}".strip(), "bare_pos": pos}


def _noun(w: dict, rng, article: bool = True) -> str:
    """'a big red disc' or 'red disc, big' (article and order vary)."""
    core = " ".join(x for x in (w["size"], w["colour"], w["shape"]) if x)
    if w["size"] and rng.random() < 0.2:
        core = f"{w['colour']} {w['shape']}, {w['size']}"
    return f"a {core}" if article and rng.random() < 0.7 else core


def _object_phrase(w: dict, rng) -> str:
    """One object with its place, in one of several orders."""
    r = rng.random()
    if r < 0.6:
        return f"{_noun(w, rng)} {w['pos']}"
    if r < 0.8:
        return f"{w['pos']}, {_noun(w, rng)}".strip(", ")
    return f"{_noun(w, rng)} ({w['bare_pos']})"


def _background(bg: str, rng, unsaid: set, optional: float = 0.2) -> str:
    if rng.random() < optional:
        unsaid.add("background")
        return ""
    return _pick(rng, BACKGROUND_FORMS).format(bg=_pick(rng, BACKGROUND_WORDS[bg]))


def _terse(w: dict, bg: str, rng) -> str:
    """A list of words in any order: 'blue star small lower right white'."""
    parts = [f"{w['colour']} {w['shape']}", w["bare_pos"]] + ([w["size"]] if w["size"] else []) + ([bg] if bg else [])
    order = rng.permutation(len(parts))
    return _pick(rng, [" ", ", "]).join(parts[i] for i in order)


def varied_caption(scene, rng: np.random.Generator) -> str:
    """A caption in the 'varied' training grammar; records left-out attributes in scene.unsaid."""
    unsaid: set = set()
    bg = _background(scene.background, rng, unsaid)
    if len(scene.objects) == 1:
        w = _words(scene.objects[0], rng, unsaid)
        r = rng.random()
        if r < 0.2:
            text = _terse(w, _pick(rng, BACKGROUND_WORDS[scene.background]) if bg else "", rng)
        elif r < 0.35 and bg:
            text = f"{_pick(rng, BACKGROUND_WORDS[scene.background])} background with {_object_phrase(w, rng)}"
        else:
            text = _pick(rng, VERBS) + _object_phrase(w, rng) + (f", {bg}" if bg else "")
    else:
        a, b = (_words(o, rng, unsaid, size_optional=False) for o in scene.objects)
        text = _two_objects(a, b, rng) + (f", {bg}" if bg else "")
    scene.unsaid = tuple(sorted(unsaid))
    return _case(text, rng)


def _two_objects(a: dict, b: dict, rng) -> str:
    """Two objects, each bound to its own words in one of several ways."""
    forms = [
        lambda: f"{_object_phrase(a, rng)} and {_object_phrase(b, rng)}",
        lambda: f"{_object_phrase(a, rng)}; {_object_phrase(b, rng)}",
        lambda: f"{_object_phrase(a, rng)}, plus {_object_phrase(b, rng)}",
        lambda: f"{a['bare_pos']}: {_noun(a, rng)}; {b['bare_pos']}: {_noun(b, rng)}",
        lambda: f"two shapes: {_object_phrase(a, rng)} and {_object_phrase(b, rng)}",
        lambda: f"{_object_phrase(a, rng)}. {_object_phrase(b, rng)}",
    ]
    return _pick(rng, forms)()


# "right" as an intensifier ("right at the top"): English uses it before any place, and the held-out
# centre phrase is "right in the middle". Without it in training, a model reads that "right" as the
# place "right" (the v3 run drew all 11 centre prompts of its dev set on the right at step 10,000).
# The centre's own phrases are never intensified, nor any phrase starting with a centre word
# ("middle right"), so that no training caption holds "right in the middle" or "right in the centre".
_CENTRE_WORDS = ("middle", "centre", "center", "central", "dead", "very")
_INTENSIFIABLE = sorted({p for place, phrases in POSITION_PHRASES.items() if place != "center"
                         for p in phrases if p.split()[0].split("-")[0].lower() not in _CENTRE_WORDS}, key=len, reverse=True)
_PLACE_AFTER_PREPOSITION = re.compile(r"\b(in|at|on) the (" + "|".join(map(re.escape, _INTENSIFIABLE)) + r")\b",
                                      re.IGNORECASE)


def intensify(caption: str, rng: np.random.Generator, share: float) -> str:
    """Put "right" before each "in/at/on the <place>" of `caption` with probability `share` (the
    centre excepted). Example: intensify("a red disc at the top", rng, 1.0) -> 'a red disc right at the top'"""
    if not 0 <= share <= 1:
        raise ValueError(f"share must be a probability in [0, 1], got {share}")

    def one(m: re.Match) -> str:
        if rng.random() >= share:
            return m.group(0)
        return ("RIGHT " if m.group(0).isupper() else "right ") + m.group(0)
    return _PLACE_AFTER_PREPOSITION.sub(one, caption)


# ---------------------------------------------------------------- free-form prompts (evaluation only)
# Every free-form template holds a word that no training caption can hold (FREEFORM_MARKERS, after
# the tokenizer's lowercasing), so that no free-form prompt is ever a training caption: held out by
# construction. `held_out_words` and tests/test_captions.py prove it.
FREEFORM_SINGLE = [
    "make me a {size} {colour} {shape}, {pos} please{bg_c}",
    "{colour} {shape} {size} {bare_pos} {bg} pls",
    "i want a {colour} {shape} that is {size}, placed {pos}{bg_c}",
    "could you draw a {colour} {shape} ({size}) {pos}?",
    "{COLOUR} {SHAPE} {POS}{BG_C} PLEASE",
    "{size} {shape}, colour {colour}, {bare_pos}{bg_c}",
    "put a {colour} {shape} {pos}. make it {size}.{bg_s}",
]
FREEFORM_TWO = [
    "make me {a} and also {b}{bg_c}",
    "{a} next to {b}{bg_c}",
    "i want {a}, and {b} too{bg_c}",
]
FREEFORM_MARKERS = ("please", "pls", "want", "could", "colour", "put", "make", "next")
HELDOUT_MARKERS = ("tiny", "huge")   # shapes.SIZE_WORDS["heldout"]: every held-out caption says one


def held_out_words(caption: str) -> set:
    """The words of `caption` (lowercased, as the tokenizer reads it) that no training caption
    holds: a caption with any is not a training caption. Example: held_out_words("a red circle pls") -> {'pls'}"""
    words = set(re.findall(r"[a-z]+", caption.lower()))
    return words & set(FREEFORM_MARKERS + HELDOUT_MARKERS)


def freeform_caption(scene, rng: np.random.Generator) -> str:
    """A prompt the way a student might type it; size or background sometimes missing."""
    unsaid: set = set()
    bg_word = _pick(rng, BACKGROUND_WORDS[scene.background])
    if rng.random() < 0.3:
        unsaid.add("background")
        bg_word = ""
    if len(scene.objects) == 1:
        w = _words(scene.objects[0], rng, unsaid)
        template = _pick(rng, FREEFORM_SINGLE)
        if not w["size"]:  # templates built around a size word lose it cleanly
            template = template.replace(" ({size})", "").replace(". make it {size}.", ".").replace(
                " that is {size},", "").replace("{size} ", "")
        text = template.format(
            **w, COLOUR=w["colour"].upper(), SHAPE=w["shape"].upper(), POS=w["pos"].upper(),
            bg=bg_word, bg_c=f", {bg_word} background" if bg_word else "",
            BG_C=f", {bg_word.upper()} BACKGROUND" if bg_word else "",
            bg_s=f" {bg_word} background." if bg_word else "")
    else:
        a, b = (_words(o, rng, unsaid, size_optional=False) for o in scene.objects)
        text = _pick(rng, FREEFORM_TWO).format(
            a=f"{_noun(a, rng)} {a['pos']}", b=f"{_noun(b, rng)} {b['pos']}",
            bg_c=f" on {bg_word}" if bg_word else "")
    scene.unsaid = tuple(sorted(unsaid))
    return " ".join(text.split())


# ---------------------------------------------------------------- which words name which object
GROUNDABLE = ("colour", "shape", "size", "position")   # the words object_word_spans can find for an object


def _place_pattern(place: str) -> re.Pattern:
    """A place's phrases, longest first, never a "right" that only intensifies ("right at the top")."""
    phrases = sorted({p.lower() for p in POSITION_PHRASES[place]}, key=len, reverse=True)
    return re.compile(r"\b(?:" + "|".join(map(re.escape, phrases)) + r")\b(?!\s+(?:in|at|on) the\b)")


def object_word_spans(caption: str, scene, words: tuple = ("colour", "shape")) -> list[dict]:
    """For each object of `scene`, where its colour word and its shape word stand in `caption`:
    [{'colour': (start, end), 'shape': (start, end)}, ...] in characters, None where a word is missing.
    `words` may also ask for "size" (its size word) and "position" (its place phrase, "top left corner").

    Objects are named in the caption in the scene's order, so each object's words are looked for
    after the previous object's. Used by the grounding loss (course_utils/grounding.py), which pulls
    each of these words' cross-attention onto its own object's pixels.
    Example: object_word_spans("a red disc and a blue star", scene) -> [{'colour': (2, 5), 'shape': (6, 10)}, ...]"""
    unknown = set(words) - set(GROUNDABLE)
    if unknown:
        raise ValueError(f"object_word_spans can find {', '.join(GROUNDABLE)}; not {', '.join(sorted(unknown))}")
    low, start, spans = caption.lower(), 0, []
    for obj in scene.objects:
        found = {}
        for what in words:
            if what == "position":
                hits = [m for m in [_place_pattern(obj.position).search(low, start)] if m]
            else:
                options = {"colour": [obj.colour], "shape": SHAPE_WORDS.get(obj.shape, [obj.shape]),
                           "size": SIZE_WORDS.get(obj.size, [])}[what]    # the training grammars' size words
                hits = [m for w in set(options) for m in [re.compile(rf"\b{re.escape(w)}\b").search(low, start)] if m]
            first = min(hits, key=lambda m: (m.start(), -m.end()), default=None)
            found[what] = None if first is None else first.span()
        spans.append(found)
        ends = [s[1] for s in found.values() if s is not None]
        start = max(ends, default=start)
    return spans
