"""The course's interactive pieces. Every function returns its ipywidgets widget.

Each widget keeps its logic in plain methods (e.g. `quiz.answer("real")`), so tests can drive
it without a browser, and the buttons or sliders only call those methods."""

from .basic import RealOrGeneratedQuiz, real_or_generated_quiz
from .diffusion import (
    DDIMExplorer,
    NoisingExplorer,
    TrajectoryExplorer,
    ddim_explorer,
    noising_explorer,
    trajectory_explorer,
)
from .flow import FlowExplorer, flow_explorer
from .gan import LatentDirections, SnapshotExplorer, latent_directions, snapshot_explorer
from .personalize import LoraExplorer, lora_explorer
from .playground import classroom_playground
from .rbm import FillIn, GibbsExplorer, fill_in, gibbs_explorer
from .sd import (
    AttentionExplorer,
    GuidanceExplorer,
    Img2ImgExplorer,
    PromptPlayground,
    attention_explorer,
    guidance_explorer,
    img2img_explorer,
    prompt_playground,
)
from .text import SimilarityExplorer, similarity_explorer
from .vae import LatentInterpolation, SceneAutoencoder, latent_interpolation, scene_autoencoder

__all__ = ["real_or_generated_quiz", "noising_explorer", "trajectory_explorer", "similarity_explorer",
           "latent_interpolation", "gibbs_explorer", "GibbsExplorer", "fill_in", "FillIn",
           "snapshot_explorer", "latent_directions", "SnapshotExplorer", "LatentDirections", "scene_autoencoder", "RealOrGeneratedQuiz", "NoisingExplorer",
           "TrajectoryExplorer", "SimilarityExplorer", "LatentInterpolation", "SceneAutoencoder",
           "prompt_playground", "PromptPlayground", "guidance_explorer", "GuidanceExplorer",
           "img2img_explorer", "Img2ImgExplorer", "attention_explorer", "AttentionExplorer", "flow_explorer", "FlowExplorer", "lora_explorer", "LoraExplorer", "classroom_playground",
           "ddim_explorer", "DDIMExplorer"]
