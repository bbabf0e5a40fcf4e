"""Registries of cpabmm, children of MMEngine's root registries.

Each registry names the modules that fill it (``locations``), so a config
such as ``dict(type='CPABMotion')`` builds without importing anything by
hand. Runners use ``default_scope = 'cpabmm'``.
"""
from mmengine.registry import DATA_SAMPLERS as MMENGINE_DATA_SAMPLERS
from mmengine.registry import DATASETS as MMENGINE_DATASETS
from mmengine.registry import EVALUATOR as MMENGINE_EVALUATOR
from mmengine.registry import FUNCTIONS as MMENGINE_FUNCTIONS
from mmengine.registry import HOOKS as MMENGINE_HOOKS
from mmengine.registry import LOG_PROCESSORS as MMENGINE_LOG_PROCESSORS
from mmengine.registry import LOOPS as MMENGINE_LOOPS
from mmengine.registry import METRICS as MMENGINE_METRICS
from mmengine.registry import MODEL_WRAPPERS as MMENGINE_MODEL_WRAPPERS
from mmengine.registry import MODELS as MMENGINE_MODELS
from mmengine.registry import \
    OPTIM_WRAPPER_CONSTRUCTORS as MMENGINE_OPTIM_WRAPPER_CONSTRUCTORS
from mmengine.registry import OPTIM_WRAPPERS as MMENGINE_OPTIM_WRAPPERS
from mmengine.registry import OPTIMIZERS as MMENGINE_OPTIMIZERS
from mmengine.registry import PARAM_SCHEDULERS as MMENGINE_PARAM_SCHEDULERS
from mmengine.registry import RUNNERS as MMENGINE_RUNNERS
from mmengine.registry import TRANSFORMS as MMENGINE_TRANSFORMS
from mmengine.registry import VISBACKENDS as MMENGINE_VISBACKENDS
from mmengine.registry import VISUALIZERS as MMENGINE_VISUALIZERS
from mmengine.registry import Registry

DEFAULT_SCOPE = 'cpabmm'

# Engine
RUNNERS = Registry('runner', parent=MMENGINE_RUNNERS, locations=['cpabmm.engine'])
LOOPS = Registry('loop', parent=MMENGINE_LOOPS, locations=['cpabmm.engine'])
HOOKS = Registry('hook', parent=MMENGINE_HOOKS, locations=['cpabmm.engine'])
LOG_PROCESSORS = Registry(
    'log processor', parent=MMENGINE_LOG_PROCESSORS, locations=['cpabmm.engine'])
OPTIMIZERS = Registry(
    'optimizer', parent=MMENGINE_OPTIMIZERS, locations=['cpabmm.engine'])
OPTIM_WRAPPERS = Registry(
    'optim wrapper', parent=MMENGINE_OPTIM_WRAPPERS, locations=['cpabmm.engine'])
OPTIM_WRAPPER_CONSTRUCTORS = Registry(
    'optimizer wrapper constructor',
    parent=MMENGINE_OPTIM_WRAPPER_CONSTRUCTORS,
    locations=['cpabmm.engine'])
PARAM_SCHEDULERS = Registry(
    'parameter scheduler',
    parent=MMENGINE_PARAM_SCHEDULERS,
    locations=['cpabmm.engine'])

# Data
DATASETS = Registry('dataset', parent=MMENGINE_DATASETS, locations=['cpabmm.datasets'])
DATA_SAMPLERS = Registry(
    'data sampler', parent=MMENGINE_DATA_SAMPLERS, locations=['cpabmm.datasets'])
TRANSFORMS = Registry(
    'transform', parent=MMENGINE_TRANSFORMS, locations=['cpabmm.datasets'])
#: functions configs name, such as a data loader's ``worker_init_fn``
#: (MMEngine looks them up with the scope: ``type='cpabmm.seed_worker'``)
FUNCTIONS = Registry('function', parent=MMENGINE_FUNCTIONS, locations=['cpabmm.datasets'])

# Models
MODELS = Registry('model', parent=MMENGINE_MODELS, locations=['cpabmm.models'])
MODEL_WRAPPERS = Registry(
    'model wrapper', parent=MMENGINE_MODEL_WRAPPERS, locations=['cpabmm.models'])

# Evaluation
METRICS = Registry('metric', parent=MMENGINE_METRICS, locations=['cpabmm.evaluation'])
EVALUATOR = Registry(
    'evaluator', parent=MMENGINE_EVALUATOR,
    locations=['cpabmm.evaluation', 'cpabmm.engine'])

# Visualisation
VISUALIZERS = Registry(
    'visualizer', parent=MMENGINE_VISUALIZERS, locations=['cpabmm.visualization'])
VISBACKENDS = Registry(
    'vis backend', parent=MMENGINE_VISBACKENDS, locations=['cpabmm.visualization'])
