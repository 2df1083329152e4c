import numpy as np
import pytest
import torch

from course_utils import data, viz, widgets
from course_utils.models.vae import (
    check_images,
    decode,
    encode,
    make_vae,
    perturbed_reconstructions,
    psnr,
    reconstruct,
    summed_kl_weight,
    vae_loss,
)


@pytest.fixture(scope="module")
def tiny_vae():
    torch.manual_seed(0)
    return make_vae(block_out_channels=(8, 8, 8, 8), norm_num_groups=4).eval()


def test_encode_decode_shapes(tiny_vae):
    x = data.shapes_world(3, seed=0).images
    z = encode(tiny_vae, x)
    assert z.shape == (3, 4, 8, 8)
    assert decode(tiny_vae, z).shape == (3, 3, 64, 64)
    r = reconstruct(tiny_vae, x[0])
    assert r.shape == (1, 3, 64, 64) and 0 <= r.min() and r.max() <= 1
    g = torch.Generator().manual_seed(0)
    assert not torch.equal(encode(tiny_vae, x, sample=True, generator=g), z)


def test_bad_images_get_clear_errors(tiny_vae):
    with pytest.raises(ValueError, match="multiples of 8"):
        encode(tiny_vae, torch.rand(1, 3, 60, 60))
    with pytest.raises(ValueError, match=r"\[-1, 1\] images: pass \(x \+ 1\) / 2"):
        encode(tiny_vae, torch.rand(1, 3, 64, 64) * 2 - 1)
    with pytest.raises(ValueError, match="got min 0 and max 255"):
        check_images(torch.cat([torch.zeros(1, 3, 8, 8), torch.full((1, 3, 8, 8), 255.0)]))
    with pytest.raises(ValueError, match="grey images need 3 channels"):
        encode(tiny_vae, torch.rand(2, 1, 64, 64))
    with pytest.raises(ValueError, match=r"latents \(N, 4, h, w\)"):
        decode(tiny_vae, torch.rand(1, 3, 8, 8))


def test_vae_loss_and_a_few_steps_lower_it(tiny_vae):
    torch.manual_seed(0)
    vae = make_vae(block_out_channels=(8, 8, 8, 8), norm_num_groups=4)
    x = data.shapes_world(8, seed=0).images * 2 - 1
    opt = torch.optim.Adam(vae.parameters(), lr=3e-3)
    first = None
    for _ in range(15):
        loss, mse, kl = vae_loss(vae, x, generator=torch.Generator().manual_seed(0))
        first = first if first is not None else mse.item()
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert kl.item() > 0 and mse.item() < first


def test_vae_loss_is_the_summed_loss_with_48x_the_kl_weight(tiny_vae):
    x = data.shapes_world(3, seed=0).images * 2 - 1
    with torch.no_grad():
        loss, _, _ = vae_loss(tiny_vae, x, generator=torch.Generator().manual_seed(0), kl_weight=1.0)
        post = tiny_vae.encode(x).latent_dist
        recon = tiny_vae.decode(post.sample(generator=torch.Generator().manual_seed(0))).sample
    squared, kl = ((recon - x) ** 2).sum(dim=(1, 2, 3)).mean(), post.kl().mean()   # per image, summed
    assert summed_kl_weight() == pytest.approx(4.8e-5) and summed_kl_weight(1.0) == 48
    assert (loss * 12288).item() == pytest.approx((squared + summed_kl_weight(1.0) * kl).item(), rel=1e-5)
    assert (loss * 12288).item() != pytest.approx((squared + 1.0 * kl).item(), rel=1e-3)  # the same weight on sums is not the same loss


def test_perturbed_reconstructions(tiny_vae):
    x = data.shapes_world(2, seed=0).images
    out = perturbed_reconstructions(tiny_vae, x, [0, 0.5, 5.0], generator=torch.Generator().manual_seed(0))
    assert out.shape == (3, 2, 3, 64, 64)
    assert torch.allclose(out[0], reconstruct(tiny_vae, x))
    assert not torch.allclose(out[1], out[0]) and not torch.allclose(out[2], out[1])
    again = perturbed_reconstructions(tiny_vae, x, [0.5], generator=torch.Generator().manual_seed(0))
    assert torch.equal(again[0], out[1])
    with pytest.raises(ValueError, match=r"sizes \(each noise size\)"):
        perturbed_reconstructions(tiny_vae, x, [-1.0])
    with pytest.raises(ValueError, match="at least one noise size"):
        perturbed_reconstructions(tiny_vae, x, [])
    with pytest.raises(TypeError, match="sizes must be a list"):
        perturbed_reconstructions(tiny_vae, x, 0.5)
    with pytest.raises(ValueError, match="kl_weight"):
        summed_kl_weight(-1.0)
    fig = viz.plot_latent_noise(tiny_vae, x, [0, 1.0])
    assert len(fig.axes) == 4 and fig.axes[-1].get_xlabel() == "noise 1"
    assert viz.plot_latent_noise(tiny_vae, x, [0, 1.0], labels=["none", "big"]).axes[-1].get_xlabel() == "big"
    with pytest.raises(ValueError, match="one caption per noise size"):
        viz.plot_latent_noise(tiny_vae, x, [0, 1.0], labels=["none"])
    with pytest.raises(TypeError, match="labels must be a list"):
        viz.plot_latent_noise(tiny_vae, x, [0, 1.0], labels=3)


def _overlapping_titles(axes) -> bool:
    fig = axes[0].figure
    fig.canvas.draw()
    boxes = [ax.title.get_window_extent() for ax in axes]
    return any(a.x1 > b.x0 for a, b in zip(boxes, boxes[1:]))


def test_long_reconstruction_titles_do_not_collide(tiny_vae):
    x = data.shapes_world(4, seed=0).images
    long = ["red triangle + orange square", "yellow star + purple square", "red triangle + red circle", "a"]
    fig = viz.plot_vae_reconstructions(tiny_vae, x, titles=long)
    top = fig.axes[:4]
    assert not _overlapping_titles(top)
    for ax, title in zip(top, long):   # negative control: unwrapped, the same titles run into each other
        ax.set_title(title, fontsize=8)
    assert _overlapping_titles(top)


def test_psnr():
    x = torch.zeros(2, 3, 4, 4)
    assert psnr(x + 0.1, x).tolist() == pytest.approx([20.0, 20.0], abs=1e-4)


def test_vae_figures_and_widgets(tiny_vae):
    x = data.shapes_world(2, seed=0).images
    fig = viz.plot_vae_reconstructions(tiny_vae, x)
    assert "PSNR" in fig.axes[2].get_title()
    from course_utils.models.vae import encode
    axes = viz.plot_latent_channels(tiny_vae, x[0]).axes
    z = encode(tiny_vae, x[0])[0]                                                # (4, h, w) of the image shown
    assert np.asarray(axes[0].images[0].get_array()) == pytest.approx(x[0].permute(1, 2, 0).numpy(), abs=1e-6)
    for c in range(len(z)):                                                      # panel 1 + c shows channel c
        assert np.asarray(axes[1 + c].images[0].get_array()) == pytest.approx(z[c].numpy(), abs=1e-6)
        assert axes[1 + c].images[0].get_clim() == pytest.approx((-float(z.abs().max()), float(z.abs().max())))   # one shared scale
    z = torch.randn(20_000, generator=torch.Generator().manual_seed(0))
    z = (z - z.mean()) / z.std() * 4                                             # latents of std 4
    ax = viz.latent_histogram(z, 0.25).axes[0]
    raw, scaled = ax.containers                                                  # the two histograms
    heights = lambda bars: np.array([bar.get_height() for bar in bars])          # noqa: E731
    edges = np.array([bar.get_x() for bar in raw] + [raw[-1].get_x() + raw[-1].get_width()])
    assert heights(raw) == pytest.approx(np.histogram(z.numpy(), edges, density=True)[0])
    assert heights(scaled) == pytest.approx(np.histogram(z.numpy() / 4, edges, density=True)[0], abs=1e-6)
    assert [t.get_text() for t in ax.get_legend().get_texts()][:2] == ["raw latents (std 4.00)", "x 0.250 (std 1.00)"]
    images = torch.rand(2, 3, 3, 8, 8)
    axes = viz.plot_interpolation(images, [0, 0.5, 1]).axes
    assert [a.get_title() for a in axes[:3]] == ["α = 0.00", "α = 0.50", "α = 1.00"]
    assert [axes[0].get_ylabel(), axes[3].get_ylabel()] == ["latent", "pixels"]
    assert np.allclose(axes[5].images[0].get_array(), images[1, 2].permute(1, 2, 0).numpy())   # row 2, column 3
    interp = widgets.latent_interpolation(tiny_vae, x[0], x[1])
    ends = interp.blend(0.0), interp.blend(1.0)
    assert torch.allclose(ends[0][1], x[0]) and torch.allclose(ends[1][1], x[1])
    before = interp.image.value
    interp.alpha.value = 0.0
    assert interp.image.value != before
    auto = widgets.scene_autoencoder(tiny_vae)
    r = auto.run("blue", "square", "large", "center", "white")
    assert r["latent"].shape == (4, 8, 8) and r["image"][:, 32, 32].tolist() == pytest.approx([40 / 255, 90 / 255, 230 / 255])
    auto.controls["colour"].value = "green"
    assert "PSNR" in auto.label.value
