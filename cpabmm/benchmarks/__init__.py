"""Workloads and timing of every benchmark (``tools/benchmark.py`` prints them).

Each workload returns its measured figures as data (seconds, ratios,
errors) so that they can be printed, compared and checked.
"""
from .convergence import LossRecorderHook, convergence, convergence_config
from .cpab_op import BackendTiming, CPABBenchmark, cpab_backend_timings
from .demo import demo_memory, demo_peak_memory, demo_speed, demo_speeds, write_driving
from .forward import (benchmark_compiled_forward, benchmark_forward, build_published,
                      count_aten_ops, count_forward_ops, published_forward_timings,
                      random_frames)
from .frozen_losses import dino_arch, dino_loss_cost, sam_arch, sam_loss_cost
from .motion_fit import (SolverTiming, build_solvers, distribution_pairs, motion_device,
                         published_comparison, published_loop_seconds, solver_timings)
from .onnx_runtime import onnx_frame_timings
from .official import (OFFICIAL_TREES, alternating_forward_times, available_official,
                       build_official, count_official_ops)
from .settings import (DEMO_MEMORY_CONFIG, MODEL_NAMES, PUBLISHED_CONFIGS, PUBLISHED_MODELS,
                       SYNTHETIC_CONFIGS)
from .startup import stage_programs, startup_seconds
from .timing import CallTimer, Stopwatch, Timing, measure
from .training import (config_step_timings, frozen_loss_step_times, time_train_step,
                       train_step_timings, training_config, with_frozen_losses)

__all__ = [
    'BackendTiming', 'CPABBenchmark', 'CallTimer', 'DEMO_MEMORY_CONFIG', 'LossRecorderHook',
    'MODEL_NAMES', 'OFFICIAL_TREES', 'PUBLISHED_CONFIGS', 'PUBLISHED_MODELS',
    'SYNTHETIC_CONFIGS', 'SolverTiming', 'Stopwatch', 'Timing', 'alternating_forward_times',
    'available_official', 'benchmark_compiled_forward', 'benchmark_forward', 'build_official',
    'build_published', 'build_solvers',
    'config_step_timings', 'convergence',
    'convergence_config', 'count_aten_ops', 'count_forward_ops', 'count_official_ops',
    'cpab_backend_timings', 'demo_memory', 'demo_peak_memory', 'demo_speed', 'demo_speeds',
    'dino_arch', 'dino_loss_cost', 'distribution_pairs', 'frozen_loss_step_times', 'measure',
    'motion_device', 'onnx_frame_timings', 'published_comparison',
    'published_forward_timings', 'published_loop_seconds', 'random_frames', 'sam_arch',
    'sam_loss_cost', 'solver_timings', 'stage_programs', 'startup_seconds',
    'time_train_step',
    'train_step_timings', 'training_config', 'with_frozen_losses', 'write_driving',
]
