import collections
import itertools

import numpy as np
import pytest
import torch

from course_utils import data, shapes_reader
from course_utils import shapes as sw


def test_digits():
    d = data.digits()
    assert d.images.shape == (1797, 1, 8, 8) and len(d) == 1797
    assert 0 <= d.images.min() and d.images.max() == 1
    assert sorted(d.labels.unique().tolist()) == list(range(10))
    up = data.digits(16)
    assert up.images.shape == (1797, 1, 16, 16)
    assert torch.allclose(torch.nn.functional.avg_pool2d(up.images, 2), d.images)
    assert set(data.digits(binary=True).images.unique().tolist()) == {0.0, 1.0}
    with pytest.raises(ValueError, match="multiple of 8"):
        data.digits(12)


def test_photo():
    x = data.photo("astronaut", size=64)
    assert x.shape == (3, 64, 64) and x.dtype == torch.float32 and 0 <= x.min() and x.max() <= 1
    assert data.photo("camera", size=32).shape == (3, 32, 32)  # greyscale becomes RGB
    assert data.photo("coffee", size=None).shape == (3, 400, 400)
    with pytest.raises(ValueError, match="available: astronaut, coffee"):
        data.photo("mona_lisa")


def test_shapes_world_batch_and_determinism():
    a = data.shapes_world(12, seed=1)
    b = data.shapes_world(12, seed=1)
    c = data.shapes_world(12, seed=2)
    assert a.images.shape == (12, 3, 64, 64) and len(a) == 12
    assert torch.equal(a.images, b.images) and a.captions == b.captions
    assert not torch.equal(a.images, c.images)
    # a scene does not depend on how many came before it in the batch
    assert torch.equal(data.shapes_world(3, seed=1, start=9).images, a.images[9:])


def test_shapes_world_mixes_one_and_two_object_scenes_with_varied_captions():
    batch = data.shapes_world(300, seed=0)
    counts = [len(s.objects) for s in batch.scenes]
    assert 0.2 < counts.count(2) / len(counts) < 0.4 and set(counts) == {1, 2}
    assert len(set(batch.captions)) > 250
    for scene, caption in zip(batch.scenes, batch.captions):
        for obj in scene.objects:
            assert obj.colour in caption and obj.shape in caption
        if len(scene.objects) == 2:
            a, b = scene.objects
            assert a.position != b.position and (a.colour, a.shape) != (b.colour, b.shape)


def test_heldout_wording_never_appears_in_training_captions():
    train = " | ".join(data.shapes_world(500, seed=0).captions)
    for words in sw.POSITION_WORDS["heldout"].values():
        assert all(w not in train for w in words)
    held = data.shapes_world(20, seed=0, wording="heldout")
    assert all(("tiny" in c or "huge" in c) for c in held.captions)


@pytest.mark.slow
def test_every_attribute_combination_is_drawn_where_its_words_say():
    """For every colour x shape x size x position x background, the pixels say what the
    attributes say: colour, shape, size and position read back by shapes_reader.read_scene."""
    rng = np.random.default_rng(0)
    combos = list(itertools.product(sw.COLOURS, sw.SHAPES, sw.SIZES, sw.POSITIONS, sw.BACKGROUNDS))
    assert len(combos) == 6 * 4 * 2 * 9 * 3
    wrong = []
    for colour, shape, size, position, bg in combos:
        obj = sw.random_object(rng, jitter=True, colour=colour, shape=shape, size=size, position=position)
        found_bg, found = shapes_reader.read_scene(sw.render_scene(sw.Scene(bg, [obj])))
        got = (found_bg, *((o.colour, o.shape, o.size, o.position) for o in found))
        if got != (bg, (colour, shape, size, position)):
            wrong.append(((bg, colour, shape, size, position), got))
    assert not wrong, f"{len(wrong)} scenes drawn wrong, e.g. {wrong[:3]}"


def test_drawn_colours_and_sizes_match_exactly():
    obj = sw.ShapeObject("blue", "square", "large", "center")
    img = sw.render_scene(sw.Scene("white", [obj]))
    assert tuple(img[32, 32]) == sw.COLOURS["blue"] and tuple(img[1, 1]) == sw.BACKGROUNDS["white"]
    mask = (np.abs(img.astype(int) - sw.BACKGROUNDS["white"]).sum(-1) > 0)
    rows, cols = np.where(mask)
    assert abs((cols.max() - cols.min() + 1) - 0.45 * 64) <= 1.5
    assert abs((cols.mean() + 0.5) / 64 - 0.5) < 0.01 and abs((rows.mean() + 0.5) / 64 - 0.5) < 0.01


def test_two_object_scenes_are_read_back():
    batch = data.shapes_world(60, seed=3, two_object_fraction=1.0)
    for img, scene in zip(batch.images, batch.scenes):
        bg, found = shapes_reader.read_scene(img)
        assert bg == scene.background
        want = sorted((o.colour, o.shape, o.size, o.position) for o in scene.objects)
        assert sorted((o.colour, o.shape, o.size, o.position) for o in found) == want


def test_dataset_for_training():
    ds = data.ShapesWorldDataset(10, seed=0)
    x, caption = ds[3]
    assert len(ds) == 10 and x.shape == (3, 64, 64) and -1 <= x.min() and x.max() <= 1
    ref = data.shapes_world(10, seed=0)
    assert caption == ref.captions[3]
    assert torch.allclose((x + 1) / 2, ref.images[3], atol=1e-6)
    xb, cb = next(iter(torch.utils.data.DataLoader(ds, batch_size=4)))
    assert xb.shape == (4, 3, 64, 64) and len(cb) == 4


def test_bad_scene_attributes_are_named():
    with pytest.raises(ValueError, match="unknown colour 'pink'"):
        sw.ShapeObject("pink", "circle", "small", "top")
    with pytest.raises(ValueError, match="unknown position"):
        sw.ShapeObject("red", "circle", "small", "middle-ish")
    with pytest.raises(ValueError, match="unknown background"):
        sw.render_scene(sw.Scene("teal", []))
    with pytest.raises(ValueError, match="1 or 2 objects"):
        sw.random_scene(np.random.default_rng(0), n_objects=3)
    with pytest.raises(ValueError, match="two_object_fraction"):
        data.shapes_world(2, two_object_fraction=1.5)


def test_render_masks_cover_each_objects_pixels_and_only_those():
    scene = data.shapes_scene(5, 3, 1.0, "varied")
    image = sw.render_scene(scene).astype(float)
    masks = sw.render_masks(scene, 64)
    assert masks.shape == (2, 64, 64) and masks.min() >= 0 and masks.max() <= 1
    background = np.array(sw.BACKGROUNDS[scene.background], float)
    painted = np.abs(image - background).sum(-1) > 30                      # pixels that differ from the background
    assert ((masks.sum(0) > 0.5) == painted).mean() > 0.96                # all but anti-aliased edges
    for obj, mask in zip(scene.objects, masks):                             # each mask holds its own colour
        assert np.abs(image[mask > 0.99] - sw.COLOURS[obj.colour]).max() < 2
    small = sw.render_masks(scene, 8)
    assert np.allclose(small.sum((1, 2)) * 64, masks.sum((1, 2)), rtol=0.02)  # the same area on the 8x8 grid


def test_pairs_differ_where_the_words_matter():
    kinds = collections.Counter()
    for i in range(400):
        a, b = data.shapes_pair(0, i, 0.5)
        assert a.background == b.background and len(a.objects) == len(b.objects)
        if len(a.objects) == 2:                                             # colours or shapes exchanged, same layout
            (a0, a1), (b0, b1) = a.objects, b.objects
            assert [(o.position, o.size, o.cx, o.side) for o in a.objects] == [(o.position, o.size, o.cx, o.side)
                                                                               for o in b.objects]
            swapped = "colour" if (b0.colour, b1.colour) == (a1.colour, a0.colour) and a0.colour != a1.colour else "shape"
            assert [(o.colour, o.shape) for o in b.objects] != [(o.colour, o.shape) for o in a.objects]
            kinds[swapped] += 1
        else:                                                               # exactly one attribute changed
            changed = [k for k in ("colour", "shape", "size", "position")
                       if getattr(a.objects[0], k) != getattr(b.objects[0], k)]
            assert len(changed) == 1
            kinds[changed[0]] += 1
    assert all(kinds[k] > 20 for k in ("colour", "shape", "size", "position"))


def test_training_pairs_cover_every_pair_of_colours_shapes_and_positions():
    firsts = collections.Counter()
    seen = {"colour": set(), "shape": set(), "position": set()}
    for i in range(8000):   # adjacent places are rare (two shapes there mostly overlap) but present
        for scene in data.shapes_pair(0, i, 0.5):
            if len(scene.objects) == 1:
                o = scene.objects[0]
                firsts[(o.colour, o.shape)] += 1
            else:
                for k in seen:
                    seen[k].add(tuple(getattr(o, k) for o in scene.objects))
    assert len(firsts) == 24 and min(firsts.values()) > 0.5 * max(firsts.values())   # every colour with every shape
    assert len(seen["colour"]) == 36 and len(seen["shape"]) == 16                    # every ordered pair
    assert len(seen["position"]) == 9 * 8                                            # every pair of distinct places


def test_render_scenes_draws_each_scene_as_a_unit_range_tensor():
    scenes = [sw.Scene("black", [sw.ShapeObject("red", "square", "large", "center")]),
              sw.Scene("white", [sw.ShapeObject("teal", "circle", "small", "top right")])]
    x = data.render_scenes(scenes)
    assert x.shape == (2, 3, 64, 64) and x.dtype == torch.float32
    rgb = lambda name: torch.tensor(name, dtype=torch.float32) / 255                   # noqa: E731
    assert torch.allclose(x[0, :, 32, 32], rgb(sw.COLOURS["red"])) and torch.allclose(x[0, :, 2, 2], rgb(sw.BACKGROUNDS["black"]))
    assert torch.allclose(x[1, :, 16, 48], rgb(sw.EXTRA_COLOURS["teal"]))                     # row 16 (top), column 48 (right)
    assert torch.allclose(x[1, :, 48, 16], rgb(sw.BACKGROUNDS["white"]))
    assert data.render_scenes(scenes, size=32).shape == (2, 3, 32, 32)
    with pytest.raises(TypeError, match="scenes must be a non-empty list of shapes.Scene"):
        data.render_scenes(scenes[0])
