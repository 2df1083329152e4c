"""Shapes World: a procedural, captioned image set the course renders itself (docs/design.md).

64x64 RGB scenes with one or two flat-coloured shapes on a plain background. Each scene is
drawn with Pillow at 4x the size and downsampled (anti-aliased edges), and comes with a
caption and the attributes of every object, so a test can check pixels against words."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from PIL import Image, ImageDraw

COLOURS = {
    "red": (220, 40, 40), "orange": (245, 140, 20), "yellow": (240, 220, 40),
    "green": (40, 170, 60), "blue": (40, 90, 230), "purple": (150, 60, 200),
}
# Lesson 08 only: a colour no base model ever trains on (random scenes never draw it), so that
# teaching the model the word "teal" is real. Scenes may use it when asked by name.
EXTRA_COLOURS = {"teal": (20, 160, 160)}
BACKGROUNDS = {"black": (10, 10, 10), "white": (245, 245, 245), "gray": (128, 128, 128)}
SHAPES = ("circle", "square", "triangle", "star")
SIZES = {"small": 0.25, "large": 0.45}  # side of the shape's box, as a fraction of the image
POSITIONS = {  # name -> (x, y) of the shape's centre, as fractions of the image
    "top left": (0.25, 0.25), "top": (0.5, 0.25), "top right": (0.75, 0.25),
    "left": (0.25, 0.5), "center": (0.5, 0.5), "right": (0.75, 0.5),
    "bottom left": (0.25, 0.75), "bottom": (0.5, 0.75), "bottom right": (0.75, 0.75),
}
STAR_INNER = 0.45  # inner radius / outer radius
SUPERSAMPLE = 4


@dataclass
class ShapeObject:
    """One shape in a scene: what it is, and where it was actually drawn (with jitter)."""
    colour: str
    shape: str
    size: str
    position: str
    cx: float = field(default=None)  # drawn centre, fraction of the image
    cy: float = field(default=None)
    side: float = field(default=None)  # drawn box side, fraction of the image

    def __post_init__(self):
        for value, allowed, what in ((self.colour, COLOURS | EXTRA_COLOURS, "colour"), (self.shape, SHAPES, "shape"),
                                     (self.size, SIZES, "size"), (self.position, POSITIONS, "position")):
            if value not in allowed:
                raise ValueError(f"unknown {what} {value!r}; expected one of {list(allowed)}")
        x, y = POSITIONS[self.position]
        self.cx = x if self.cx is None else self.cx
        self.cy = y if self.cy is None else self.cy
        self.side = SIZES[self.size] if self.side is None else self.side

    def __repr__(self):
        return (f"ShapeObject({self.colour!r}, {self.shape!r}, {self.size!r}, {self.position!r}, "
                f"cx={self.cx:.3f}, cy={self.cy:.3f}, side={self.side:.3f})")

    def box(self) -> tuple[float, float, float, float]:
        """(left, top, right, bottom) of the shape's box, fractions of the image."""
        h = self.side / 2
        return self.cx - h, self.cy - h, self.cx + h, self.cy + h


@dataclass
class Scene:
    """A background and one or two objects; `caption` describes them in words."""
    background: str
    objects: list[ShapeObject]
    caption: str = ""
    unsaid: tuple = ()  # attributes the caption leaves out ("size", "background"): not graded


def star_points(cx: float, cy: float, radius: float) -> list[tuple[float, float]]:
    """The 10 corners of a five-pointed star, one point straight up."""
    pts = []
    for k in range(10):
        r = radius if k % 2 == 0 else radius * STAR_INNER
        angle = -math.pi / 2 + k * math.pi / 5  # start at the top, go clockwise
        pts.append((cx + r * math.cos(angle), cy + r * math.sin(angle)))
    return pts


def _draw_shape(draw: ImageDraw.ImageDraw, obj: ShapeObject, px: int, fill=None) -> None:
    left, top, right, bottom = (v * px for v in obj.box())
    fill = (COLOURS | EXTRA_COLOURS)[obj.colour] if fill is None else fill
    if obj.shape == "circle":
        draw.ellipse((left, top, right, bottom), fill=fill)
    elif obj.shape == "square":
        draw.rectangle((left, top, right, bottom), fill=fill)
    elif obj.shape == "triangle":  # isosceles, apex up, base on the bottom of the box
        draw.polygon([((left + right) / 2, top), (right, bottom), (left, bottom)], fill=fill)
    else:
        draw.polygon(star_points(obj.cx * px, obj.cy * px, obj.side * px / 2), fill=fill)


def render_scene(scene: Scene, size: int = 64) -> np.ndarray:
    """Draw a scene -> uint8 array (size, size, 3), anti-aliased by 4x supersampling.

    Example: render_scene(Scene("black", [ShapeObject("red", "circle", "small", "top left")]))"""
    if scene.background not in BACKGROUNDS:
        raise ValueError(f"unknown background {scene.background!r}; expected one of {list(BACKGROUNDS)}")
    px = size * SUPERSAMPLE
    canvas = Image.new("RGB", (px, px), BACKGROUNDS[scene.background])
    draw = ImageDraw.Draw(canvas)
    for obj in scene.objects:
        _draw_shape(draw, obj, px)
    return np.array(canvas.resize((size, size), Image.Resampling.BOX))  # a writable copy


def render_masks(scene: Scene, size: int = 64) -> np.ndarray:
    """Each object's pixels -> float32 array (n_objects, size, size) in [0, 1], anti-aliased as
    render_scene draws them (a pixel half covered by the shape is 0.5). Where a later object
    covers an earlier one, the pixel belongs to the later one, as in the picture.

    Example: render_masks(scene, 8) gives the masks at the U-Net's 8x8 latent grid (drawn as the
    64x64 picture is, then each cell's share of it)."""
    px = max(size, 64) * SUPERSAMPLE
    layers = []
    for obj in scene.objects:
        canvas = Image.new("L", (px, px), 0)
        _draw_shape(ImageDraw.Draw(canvas), ShapeObject(obj.colour, obj.shape, obj.size, obj.position,
                                                        obj.cx, obj.cy, obj.side), px, fill=255)
        layers.append(np.asarray(canvas, dtype=np.float32) / 255.0)
    for i in range(len(layers) - 1):                     # what a later object covers is not the earlier one's
        layers[i] = layers[i] * (1 - sum(layers[i + 1:]).clip(0, 1))
    return np.stack([np.asarray(Image.fromarray(m).resize((size, size), Image.Resampling.BOX)) for m in layers])


# ---------------------------------------------------------------- captions
# Several wordings for each attribute and several sentence templates, so that a model learns
# the meaning and not one template. "heldout" wordings never appear in training captions:
# lesson 06 measures prompt adherence on them.
POSITION_WORDS = {
    "train": {
        "top left": ["in the top left", "in the upper left corner", "at the top left"],
        "top": ["at the top", "in the top middle", "at the top center"],
        "top right": ["in the top right", "in the upper right corner", "at the top right"],
        "left": ["on the left", "at the middle left", "on the left side"],
        "center": ["in the center", "in the middle", "in the centre"],
        "right": ["on the right", "at the middle right", "on the right side"],
        "bottom left": ["in the bottom left", "in the lower left corner", "at the bottom left"],
        "bottom": ["at the bottom", "in the bottom middle", "at the bottom center"],
        "bottom right": ["in the bottom right", "in the lower right corner", "at the bottom right"],
    },
    "heldout": {
        "top left": ["toward the upper left"], "top": ["along the top edge"],
        "top right": ["toward the upper right"], "left": ["by the left edge"],
        "center": ["right in the middle"], "right": ["by the right edge"],
        "bottom left": ["toward the lower left"], "bottom": ["along the bottom edge"],
        "bottom right": ["toward the lower right"],
    },
}
SIZE_WORDS = {"train": {"small": ["small", "little"], "large": ["large", "big"]},
              "heldout": {"small": ["tiny"], "large": ["huge"]}}
TEMPLATES = {
    "train": [
        "a {size} {colour} {shape} {pos}",
        "{colour} {shape} {pos}, {bg} background",
        "a {size} {colour} {shape} on a {bg} background, {pos}",
        "{size} {colour} {shape} {pos}",
        "there is a {size} {colour} {shape} {pos} on {bg}",
        "{bg} background with a {size} {colour} {shape} {pos}",
    ],
    "heldout": [
        "a picture of a {size} {colour} {shape} {pos} over {bg}",
        "one {size} {colour} {shape}, {pos}; the background is {bg}",
    ],
}
TWO_OBJECT_TEMPLATES = {
    "train": ["{a} and {b}, {bg} background", "{a} and {b} on a {bg} background", "{a}, {b}"],
    "heldout": ["a picture with {a} as well as {b} over {bg}"],
}


def describe_object(obj: ShapeObject, rng: np.random.Generator, wording: str = "train") -> str:
    """'a small red circle in the top left' with the wording drawn from `wording`'s lists."""
    pos = rng.choice(POSITION_WORDS[wording][obj.position])
    size = rng.choice(SIZE_WORDS[wording][obj.size])
    return f"a {size} {obj.colour} {obj.shape} {pos}"


WORDINGS = ("train", "heldout", "varied", "freeform")


def make_caption(scene: Scene, rng: np.random.Generator, wording: str = "train") -> str:
    """A caption of the scene in one of several wordings: 'train' and 'heldout' (below),
    'varied' and 'freeform' (course_utils/captions.py)."""
    if wording not in WORDINGS:
        raise ValueError(f"wording must be one of {WORDINGS}, got {wording!r}")
    if wording in ("varied", "freeform"):
        from . import captions

        if wording == "varied" and rng.random() < 0.2:  # the original templates stay in the mix
            return make_caption(scene, rng, "train")
        return (captions.varied_caption if wording == "varied" else captions.freeform_caption)(scene, rng)
    if len(scene.objects) == 1:
        obj = scene.objects[0]
        template = str(rng.choice(TEMPLATES[wording]))
        caption = template.format(
            size=rng.choice(SIZE_WORDS[wording][obj.size]), colour=obj.colour, shape=obj.shape,
            pos=rng.choice(POSITION_WORDS[wording][obj.position]), bg=scene.background)
    else:
        a, b = (describe_object(o, rng, wording) for o in scene.objects)
        template = str(rng.choice(TWO_OBJECT_TEMPLATES[wording]))
        caption = template.format(a=a, b=b, bg=scene.background)
    scene.unsaid = () if "{bg}" in template else ("background",)
    return caption


# ---------------------------------------------------------------- random scenes
def _overlaps(a: ShapeObject, b: ShapeObject, margin: float = 0.02) -> bool:
    al, at, ar, ab = a.box()
    bl, bt, br, bb = b.box()
    return not (ar + margin <= bl or br + margin <= al or ab + margin <= bt or bb + margin <= at)


def random_object(rng: np.random.Generator, jitter: bool = True, **fixed) -> ShapeObject:
    """One object with random (or `fixed`) attributes; position +-0.03 and size +-10 % jitter."""
    attrs = {"colour": rng.choice(list(COLOURS)), "shape": rng.choice(SHAPES),
             "size": rng.choice(list(SIZES)), "position": rng.choice(list(POSITIONS))}
    attrs = {k: str(v) for k, v in attrs.items()} | fixed
    obj = ShapeObject(**attrs)
    if jitter:
        obj.cx += rng.uniform(-0.03, 0.03)
        obj.cy += rng.uniform(-0.03, 0.03)
        obj.side *= rng.uniform(0.9, 1.1)
    return obj


def random_scene(rng: np.random.Generator, n_objects: int = 1, jitter: bool = True,
                 wording: str = "train") -> Scene:
    """A random scene with 1 or 2 non-overlapping objects that differ in colour or shape."""
    if n_objects not in (1, 2):
        raise ValueError(f"a Shapes World scene has 1 or 2 objects, got {n_objects}")
    background = str(rng.choice(list(BACKGROUNDS)))
    objects = [random_object(rng, jitter)]
    tries = 0
    while len(objects) < n_objects:
        tries += 1
        if tries % 50 == 0:  # e.g. a large shape in the centre leaves no room: start over
            objects = [random_object(rng, jitter)]
        cand = random_object(rng, jitter)
        first = objects[0]
        if (cand.position != first.position and not _overlaps(cand, first)
                and (cand.colour, cand.shape) != (first.colour, first.shape)):
            objects.append(cand)
    scene = Scene(background, objects)
    scene.caption = make_caption(scene, rng, wording)
    return scene


# ---------------------------------------------------------------- pairs that teach binding
def partner_scene(scene: Scene, rng: np.random.Generator, wording: str = "varied") -> Scene:
    """The scene's partner in a pair that differs where the words matter, with a fresh caption.

    Two objects: the same layout with the two colours exchanged (or the two shapes, where the
    colours are the same or at random), so that "a red circle and a blue square" and "a blue
    circle and a red square" are both seen. One object: the same scene with exactly one of
    colour, shape, size or position changed (a minimal pair). Okawa et al. 2023 found that a
    model learns a combination only once the data separate its parts."""
    objs = [ShapeObject(o.colour, o.shape, o.size, o.position, o.cx, o.cy, o.side) for o in scene.objects]
    if len(objs) == 2:
        a, b = objs
        swap = "shape" if a.colour == b.colour else "colour" if a.shape == b.shape else str(rng.choice(["colour", "shape"]))
        if swap == "colour":
            a.colour, b.colour = b.colour, a.colour
        else:
            a.shape, b.shape = b.shape, a.shape
    else:
        _change_one(objs[0], rng)
    partner = Scene(scene.background, objs)
    partner.caption = make_caption(partner, rng, wording)
    return partner


def _change_one(obj: ShapeObject, rng: np.random.Generator) -> None:
    """Change one attribute of `obj` to another value; the drawn centre and side follow it."""
    choices = {"colour": list(COLOURS), "shape": list(SHAPES), "size": list(SIZES), "position": list(POSITIONS)}
    what = str(rng.choice(list(choices)))
    old = getattr(obj, what)
    setattr(obj, what, str(rng.choice([c for c in choices[what] if c != old])))
    if what == "size":
        obj.side *= SIZES[obj.size] / SIZES[old]
    elif what == "position":
        (x0, y0), (x1, y1) = POSITIONS[old], POSITIONS[obj.position]
        obj.cx, obj.cy = obj.cx + x1 - x0, obj.cy + y1 - y0
