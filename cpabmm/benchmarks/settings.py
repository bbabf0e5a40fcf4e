"""The models the benchmarks compare and the configs they take them from
(paths relative to the ``configs/`` folder)."""

#: the model families, in the order of every table
MODEL_NAMES = ('FOMM', 'TPSMM', 'CPABMM')
#: the synthetic training configs (small architectures, weight-free losses, 64 px)
SYNTHETIC_CONFIGS = {
    'FOMM': 'fomm/fomm_k10-small_1xb8-20e_synthetic-64.py',
    'TPSMM': 'tpsmm/tpsmm_k10-small_1xb8-20e_synthetic-64.py',
    'CPABMM': 'cpabmm/cpabmm_k10-small_1xb8-20e_synthetic-64.py',
}
#: the published architectures
PUBLISHED_MODELS = {
    'FOMM': '_base_/models/fomm.py',
    'TPSMM': '_base_/models/tpsmm.py',
    'CPABMM': '_base_/models/cpabmm.py',
}
#: the published VoxCeleb configs (what the demo runs at 256x256)
PUBLISHED_CONFIGS = {
    'FOMM': 'fomm/fomm_k10_1xb40-100e_vox-256.py',
    'TPSMM': 'tpsmm/tpsmm_k10_1xb28-100e_vox-256.py',
    'CPABMM': 'cpabmm/cpabmm_k10_1xb8-100e_vox-256.py',
}
#: the model of the demo's memory figures (small: the video length is what varies)
DEMO_MEMORY_CONFIG = 'tpsmm/tpsmm_k10-small_1xb8-20e_synthetic-64.py'


def check_model_names(names) -> None:
    """Refuse a model name that is not one of :data:`MODEL_NAMES`."""
    unknown = [name for name in names if name not in MODEL_NAMES]
    if unknown:
        raise ValueError(f'unknown model(s) {unknown}: use some of {list(MODEL_NAMES)}')
