"""Random generators saved with every checkpoint, restored on resume."""
import logging
from typing import Any, Dict, Optional, Tuple

from mmengine.hooks import Hook
from mmengine.logging import print_log

from cpabmm.registry import HOOKS
from ..random_state import capture_random_state, restore_random_state

#: the checkpoint's key for the random state
KEY = 'random_state'


@HOOKS.register_module()
class RandomStateHook(Hook):
    """Make a resumed run draw the random numbers of an uninterrupted one.

    Every checkpoint records the global generators (Python, NumPy, torch CPU
    and CUDA, see :mod:`cpabmm.engine.random_state`) and the training
    sampler's seed; a run resumed from it restores them just before training
    continues. A checkpoint loaded for its weights only (``load_from``
    without resuming) changes nothing. Validation gets the generators back as
    it found them, so it does not change training, and a checkpoint written
    during validation records them as they were before it. Data-loader
    workers follow when they start anew every epoch from seeds drawn from
    torch's generator (``persistent_workers=False`` with
    :func:`cpabmm.datasets.seed_worker`); persistent workers keep a state no
    checkpoint holds, which a warning reports.
    """

    priority = 'LOWEST'

    def __init__(self) -> None:
        self._loaded: Optional[Tuple[int, Dict[str, Any]]] = None
        self._before_val: Optional[Dict[str, Any]] = None

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        state = {'generators': self._before_val or capture_random_state()}
        seed = getattr(runner.train_dataloader.sampler, 'seed', None)
        if isinstance(seed, int):
            state['sampler_seed'] = seed
        checkpoint[KEY] = state

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        if KEY in checkpoint:
            self._loaded = (checkpoint['meta']['iter'], checkpoint[KEY])

    def before_train(self, runner) -> None:
        loader = runner.train_dataloader
        if loader.num_workers > 0 and loader.persistent_workers:
            print_log('persistent data-loader workers keep a random state that checkpoints '
                      'do not hold: a resumed run will augment its data differently from an '
                      'uninterrupted one (set train_dataloader.persistent_workers=False)',
                      logger='current', level=logging.WARNING)
        loaded, self._loaded = self._loaded, None
        if loaded is None or loaded[0] != runner.iter:
            return
        state = loaded[1]
        if runner.world_size > 1 and runner.cfg.get('randomness', {}).get('diff_rank_seed'):
            print_log('diff_rank_seed: the checkpoint holds the random state of rank 0 only; '
                      'the generators are not restored', logger='current',
                      level=logging.WARNING)
            return
        restore_random_state(state['generators'])
        if 'sampler_seed' in state:
            loader.sampler.seed = state['sampler_seed']

    def before_val(self, runner) -> None:
        self._before_val = capture_random_state()

    def after_val(self, runner) -> None:
        restore_random_state(self._before_val)
        self._before_val = None
