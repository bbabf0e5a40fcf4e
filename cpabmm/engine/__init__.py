"""Runner glue: hooks, optimiser wrappers, config loading, and the test loop
and evaluator of image animation."""
from .config import ConfigError, check_override_keys, load_config, load_tool_config
from .distributed import parse_with_launcher, prepare_cpu_distributed
from .evaluator import DEFAULT_SETS, AnimationEvaluator
from .hooks import (AnimationVisualizationHook, AtomicCheckpointHook, NonFiniteLossError,
                    NonFiniteLossHook, RandomStateHook, SafeCheckpointHook, SetEpochHook)
from .initial_frames import InitialDrivingFrames
from .model_wrapper import AnimatorDistributedDataParallel
from .optim import ModuleClipOptimWrapper, ModuleOptimWrapperConstructor
from .random_state import capture_random_state, restore_random_state
from .runner import build_runner, enable_compile
from .side_by_side import SideBySideRecorder
from .test_loop import PROTOCOLS, AnimationTestLoop, per_video_csv_path

__all__ = [
    'AnimationEvaluator', 'AnimationTestLoop', 'AnimationVisualizationHook',
    'AnimatorDistributedDataParallel', 'AtomicCheckpointHook', 'ConfigError', 'DEFAULT_SETS',
    'InitialDrivingFrames', 'ModuleClipOptimWrapper', 'ModuleOptimWrapperConstructor',
    'NonFiniteLossError', 'NonFiniteLossHook', 'PROTOCOLS', 'RandomStateHook',
    'SafeCheckpointHook', 'SetEpochHook', 'SideBySideRecorder', 'build_runner',
    'capture_random_state',
    'check_override_keys', 'enable_compile', 'load_config', 'load_tool_config',
    'parse_with_launcher',
    'per_video_csv_path', 'prepare_cpu_distributed', 'restore_random_state',
]
