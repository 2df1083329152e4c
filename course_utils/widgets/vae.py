"""Widgets of lesson 05: walk the latent space, and send a scene of your choice through the VAE."""

from __future__ import annotations

import ipywidgets as W
import torch

from ..images import to_png
from .basic import picture, show, side_by_side


class LatentInterpolation(W.VBox):
    """A slider alpha: decode((1 - alpha) z_a + alpha z_b), next to the same blend of the pixels."""

    def __init__(self, vae, image_a: torch.Tensor, image_b: torch.Tensor, scale: int = 4):
        from ..images import make_grid
        from ..models.vae import check_images, encode

        self.vae, self.scale, self._grid = vae, scale, make_grid
        self.x = torch.cat([check_images(image_a)[:1], check_images(image_b)[:1]])   # (2, 3, H, W)
        self.z = encode(vae, self.x)                                                # (2, 4, h, w)
        self.alpha = W.FloatSlider(0.5, min=0, max=1, step=0.05, description="α", layout=W.Layout(width="360px"),
                                   continuous_update=False)                       # runs the decoder: on release
        self.image = picture()
        self.label = W.HTML("left: decoded from the blended latent; right: the blended pixels",
                            layout=W.Layout(width="360px"))
        self.alpha.observe(lambda _: self.redraw(), "value")
        super().__init__([side_by_side(self.image, W.VBox([self.alpha, self.label]))])
        self.redraw()

    def blend(self, alpha: float) -> torch.Tensor:
        """(2, 3, H, W): the decoded latent blend and the pixel blend at `alpha`."""
        from ..models.vae import decode

        z = (1 - alpha) * self.z[:1] + alpha * self.z[1:]
        pixels = (1 - alpha) * self.x[:1] + alpha * self.x[1:]
        return torch.cat([decode(self.vae, z), pixels])

    def redraw(self) -> None:
        show(self.image, to_png(self._grid(self.blend(self.alpha.value), nrow=2, padding=2), self.scale))


def latent_interpolation(vae, image_a, image_b) -> LatentInterpolation:
    """Walk from one image to another through the VAE's latent space; returns the widget.

    Example: x = shapes_world(2).images; latent_interpolation(vae, x[0], x[1])"""
    return LatentInterpolation(vae, image_a, image_b)


class SceneAutoencoder(W.VBox):
    """Pick a Shapes World scene with dropdowns; see it, its 4 latent channels, and its reconstruction."""

    def __init__(self, vae, scale: int = 4):
        from .. import shapes as sw

        self.vae, self.scale = vae, scale
        self.controls = {
            "colour": W.Dropdown(options=list(sw.COLOURS), value="red", description="colour"),
            "shape": W.Dropdown(options=list(sw.SHAPES), value="star", description="shape"),
            "size": W.Dropdown(options=list(sw.SIZES), value="large", description="size"),
            "position": W.Dropdown(options=list(sw.POSITIONS), value="center", description="position"),
            "background": W.Dropdown(options=list(sw.BACKGROUNDS), value="white", description="background"),
        }
        for c in self.controls.values():
            c.observe(lambda _: self.redraw(), "value")
        self.image, self.latent, self.label = picture(), picture(), W.HTML()
        boxes = list(self.controls.values())
        super().__init__([W.HBox(boxes[:3]), W.HBox(boxes[3:]), side_by_side(self.image, self.latent), self.label])
        self.redraw()

    def run(self, colour, shape, size, position, background) -> dict:
        """Render the scene and send it through the VAE -> {'image', 'latent', 'reconstruction', 'psnr'}."""
        from .. import shapes as sw
        from ..data import render_scenes
        from ..models.vae import decode, encode, psnr

        x = render_scenes([sw.Scene(background, [sw.ShapeObject(colour, shape, size, position)])])   # (1, 3, 64, 64)
        z = encode(self.vae, x)
        recon = decode(self.vae, z)
        return {"image": x[0], "latent": z[0], "reconstruction": recon[0], "psnr": float(psnr(recon, x)[0])}

    def redraw(self) -> None:
        from ..images import make_grid

        r = self.run(**{k: c.value for k, c in self.controls.items()})
        show(self.image, to_png(make_grid(torch.stack([r["image"], r["reconstruction"]]), nrow=2, padding=2), self.scale))
        z = r["latent"]                                                                   # (4, 8, 8)
        lim = z.abs().max().clamp(min=1e-6)
        chans = ((z / lim + 1) / 2).unsqueeze(1)                                          # (4, 1, 8, 8) in [0, 1]
        show(self.latent, to_png(make_grid(chans, nrow=2, padding=1), self.scale * 4))  # 2 x 2 channels
        self.label.value = (f"left: the scene (64×64×3 = 12,288 numbers) and its reconstruction, PSNR "
                            f"<b>{r['psnr']:.1f} dB</b>; right: the 4 latent channels, 2 × 2 (8×8×4 = 256 numbers, grey = 0)")


def scene_autoencoder(vae) -> SceneAutoencoder:
    """Choose colour, shape, size, position and background; watch the scene go through the VAE."""
    return SceneAutoencoder(vae)
