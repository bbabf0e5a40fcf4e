"""Python API of cpabmm: build a model, animate pictures with it."""
from .animate import (MODES, Animation, AnimationStep, animate, movement_scale,
                      relative_keypoints)
from .best_frame import build_face_landmarks, find_best_frame
from .compare import (Comparison, ComparisonStep, ModelSpec, resolve_model_spec,
                      resolve_model_specs)
from .inference import init_model
from .media import DrivingVideo, open_driving, prepare_image
from .onnx_animator import OnnxAnimator

__all__ = [
    'MODES', 'Animation', 'AnimationStep', 'Comparison', 'ComparisonStep', 'DrivingVideo',
    'ModelSpec', 'OnnxAnimator', 'animate', 'build_face_landmarks', 'find_best_frame', 'init_model',
    'movement_scale', 'open_driving', 'prepare_image', 'relative_keypoints',
    'resolve_model_spec', 'resolve_model_specs'
]
