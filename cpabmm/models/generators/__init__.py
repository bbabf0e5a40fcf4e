"""Generators: FOMM's occlusion-aware generator, TPSMM's inpainting network."""
from .inpainting import InpaintingGenerator
from .occlusion_aware import OcclusionAwareGenerator

__all__ = ['InpaintingGenerator', 'OcclusionAwareGenerator']
