"""Every picture of the course. Each plot function returns its matplotlib Figure."""

from .basic import plot_loss, show_images
from .diffusion import noised, plot_denoising_trajectory, plot_noising_steps, plot_schedules
from .flow import plot_dit_diagram, plot_quality_vs_steps, plot_reflow, plot_toy_flow
from .gan import plot_class_histogram, plot_gan_losses, plot_saturation
from .history import TIMELINE, plot_digit_models, plot_stable_diffusion_diagram, plot_timeline
from .rbm import plot_filters, plot_free_energy, plot_gibbs_chain, plot_tiny_states
from .sd import (
           plot_cross_attention,
           plot_cross_attention_rows,
           plot_guidance_curve,
           plot_guidance_diversity,
           plot_latent_trajectory,
           plot_prompt_grid,
)
from .text import (
           plot_attention_weights,
           plot_embedding_map,
           plot_embedding_similarity,
           plot_tokens,
           project_2d,
)
from .vae import (
           latent_histogram,
           plot_interpolation,
           plot_latent_channels,
           plot_latent_noise,
           plot_vae_reconstructions,
)

__all__ = ["show_images", "plot_loss", "plot_timeline", "plot_stable_diffusion_diagram", "TIMELINE", "plot_digit_models",
           "noised", "plot_noising_steps", "plot_schedules", "plot_denoising_trajectory",
           "plot_tokens", "plot_embedding_similarity", "plot_embedding_map", "plot_attention_weights", "project_2d", "plot_gan_losses", "plot_saturation", "plot_class_histogram", "plot_filters", "plot_free_energy", "plot_gibbs_chain", "plot_tiny_states",
           "plot_vae_reconstructions", "plot_latent_channels", "plot_latent_noise", "plot_interpolation", "latent_histogram",
           "plot_latent_trajectory", "plot_prompt_grid", "plot_guidance_curve", "plot_guidance_diversity", "plot_cross_attention", "plot_cross_attention_rows", "plot_toy_flow", "plot_quality_vs_steps", "plot_dit_diagram",
           "plot_reflow"]
