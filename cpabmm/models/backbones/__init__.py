"""Frozen feature networks of the losses (VGG-19, DINO ViT, SAM image encoder)."""
from .dino_vit import DINOViT, interpolate_position_embedding
from .frozen import (FrozenBackbone, hub_checkpoint_path, imagenet_normalize, load_exact,
                     resolve_checkpoint)
from .sam_encoder import SAM_ARCHS, SAMImageEncoder
from .vgg import VGG19

__all__ = [
    'DINOViT', 'FrozenBackbone', 'SAMImageEncoder', 'SAM_ARCHS', 'VGG19', 'hub_checkpoint_path',
    'imagenet_normalize', 'interpolate_position_embedding', 'load_exact',
    'resolve_checkpoint',
]
