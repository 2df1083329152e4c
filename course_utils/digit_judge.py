"""The digit judge: how good a set of generated 8x8 digits is, by a classifier that never saw them.

A small MLP trained once per process on 1,297 of scikit-learn's digits (`digit_judge`) says how sure
it is of each image and which digit it sees; the Frechet distance of its hidden features to the
500 held-out real digits (`heldout_digits`) says how far the whole set is from real ones, as FID
does with an Inception network. `judge_digits` gives all of it as a DigitReport. The digit lessons
(00-03, 07) and their model cards quote these; recorded.py reads the cards' rows back.

Example: print(judge_digits(models.sample("ddpm-digits", 500)))"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from . import validate as v
from .quiet import quiet


@dataclass
class DigitReport:
    """What the digit judge says about a set of images (see `judge_digits`)."""
    n: int
    confidence: float  # mean probability of the predicted class
    classes_covered: int  # digits predicted for at least 2 % of the images
    class_counts: list[int]  # how many images were called 0, 1, ..., 9
    class_entropy: float  # entropy (bits) of the predicted-class histogram; log2(10) = 3.32 is all even
    frechet: float  # Frechet distance of the judge's hidden features to real digits

    def __str__(self):
        return (f"n={self.n}: confidence {self.confidence:.2f}, {self.classes_covered}/10 classes, "
                f"class entropy {self.class_entropy:.2f} bits, Frechet distance {self.frechet:.1f}")


_JUDGE: dict = {}


def digit_judge():
    """A small MLP classifier trained on 1,297 of scikit-learn's digits, plus the mean and
    covariance of its hidden features on them. The other 500 digits (`heldout_digits()`) are
    the "real" end of the scale. Trained once per process (a few seconds), then cached."""
    if "clf" not in _JUDGE:
        from sklearn.datasets import load_digits
        from sklearn.neural_network import MLPClassifier

        X, y = load_digits(return_X_y=True)
        order = np.random.default_rng(0).permutation(len(X))
        train, held = order[500:], order[:500]
        clf = MLPClassifier((128,), alpha=1.0, max_iter=600, random_state=0)
        clf.fit(X[train] / 16.0, y[train])  # pixels 0..16 -> [0, 1]
        feats = _hidden(clf, X[train] / 16.0)
        scale = np.sqrt(feats.var(0).mean())  # features in units of the real digits' spread
        clf.feature_scale_ = scale
        feats = feats / scale
        _JUDGE.update(clf=clf, mu=feats.mean(0), cov=np.cov(feats, rowvar=False),
                      heldout=X[held] / 16.0, heldout_labels=y[held])
    return _JUDGE["clf"]


def heldout_digits() -> tuple[torch.Tensor, torch.Tensor]:
    """The 500 real digits the judge never saw, as (500, 1, 8, 8) in [0, 1], and their labels."""
    digit_judge()
    x = torch.tensor(_JUDGE["heldout"], dtype=torch.float32).reshape(-1, 1, 8, 8)
    return x, torch.tensor(_JUDGE["heldout_labels"])


def _hidden(clf, X: np.ndarray) -> np.ndarray:
    """The judge's hidden-layer features (ReLU), divided by their spread on real digits."""
    return np.maximum(X @ clf.coefs_[0] + clf.intercepts_[0], 0.0) / getattr(clf, "feature_scale_", 1.0)


def _to_digit_pixels(images) -> np.ndarray:
    if isinstance(images, np.ndarray) and images.dtype.kind in "biuf":
        images = torch.from_numpy(images)
    x = v.tensor("images", images).detach().float().cpu()
    if x.ndim != 4 or x.shape[1] != 1 or x.shape[-1] % 8 or x.shape[-1] != x.shape[-2] or x.shape[-1] == 0:
        raise ValueError(f"images must be digit images (N, 1, 8k, 8k) in [0, 1], got shape {tuple(x.shape)}")
    if len(x) < 2:
        raise ValueError(f"images must hold at least 2 digits (the Frechet distance needs a spread), got {len(x)}; "
                         "use N = 500 for numbers to compare")
    if x.shape[-1] != 8:  # 16x16 digits were upsampled by nearest neighbour: average back
        x = torch.nn.functional.avg_pool2d(x, x.shape[-1] // 8)
    return x.clamp(0, 1).reshape(len(x), 64).numpy()


def frechet_distance(mu1, cov1, mu2, cov2) -> float:
    """||mu1 - mu2||^2 + Tr(C1 + C2 - 2 (C1 C2)^(1/2)), the distance FID uses."""
    from scipy import linalg

    with quiet(warnings=Warning):  # dead ReLU units make the covariances singular; harmless
        covmean = linalg.sqrtm(cov1 @ cov2)
    covmean = covmean.real if np.iscomplexobj(covmean) else covmean
    return float(((mu1 - mu2) ** 2).sum() + np.trace(cov1 + cov2 - 2 * covmean))


def judge_digits(images) -> DigitReport:
    """Judge generated digits: (N, 1, 8, 8) or (N, 1, 16, 16) in [0, 1] -> a DigitReport.

    Compare like with like: the Frechet distance grows as N shrinks (use N = 500 for cards).
    Example: print(judge_digits(models.sample("ddpm-digits", 500)))"""
    X = _to_digit_pixels(images)
    clf = digit_judge()
    probs = clf.predict_proba(X)
    pred = probs.argmax(1)
    counts = np.bincount(pred, minlength=10)
    p = counts / counts.sum()
    entropy = float(-(p[p > 0] * np.log2(p[p > 0])).sum()) + 0.0  # + 0.0: one class gives 0.00, not -0.00
    feats = _hidden(clf, X)
    fd = frechet_distance(feats.mean(0), np.cov(feats, rowvar=False), _JUDGE["mu"], _JUDGE["cov"])
    return DigitReport(n=len(X), confidence=float(probs.max(1).mean()),
                       classes_covered=int((counts >= max(1, 0.02 * len(X))).sum()),
                       class_counts=counts.tolist(), class_entropy=entropy, frechet=fd)
