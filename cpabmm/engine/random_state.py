"""The state of every global random generator, as weights-only-safe types.

A resumed run draws the same random numbers as an uninterrupted one only if
it continues from the generators' exact state, not from a fresh seed:
:func:`capture_random_state` records Python's ``random``, NumPy's global
generator, torch's CPU generator and (when CUDA is in use) the current CUDA
device's, as tensors and plain Python values that
``torch.load(weights_only=True)`` accepts; :func:`restore_random_state`
sets them back.
"""
from __future__ import annotations

import random
from typing import Any, Dict

import numpy as np
import torch


def capture_random_state() -> Dict[str, Any]:
    """The global generators' state (see the module docstring)."""
    version, internal, gauss_next = random.getstate()
    numpy_state = np.random.get_state(legacy=False)
    state = {
        'python': {'version': version, 'internal': torch.tensor(internal, dtype=torch.int64),
                   'gauss_next': gauss_next},
        'numpy': {'key': torch.from_numpy(numpy_state['state']['key'].astype(np.int64)),
                  'pos': int(numpy_state['state']['pos']),
                  'has_gauss': int(numpy_state['has_gauss']),
                  'gauss': float(numpy_state['gauss'])},
        'torch': torch.get_rng_state(),
    }
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        state['cuda'] = torch.cuda.get_rng_state()
    return state


def restore_random_state(state: Dict[str, Any]) -> None:
    """Set the global generators to ``state`` from :func:`capture_random_state`
    (its CUDA generator only where CUDA is available)."""
    python = state['python']
    random.setstate((python['version'], tuple(python['internal'].tolist()),
                     python['gauss_next']))
    numpy = state['numpy']
    np.random.set_state({
        'bit_generator': 'MT19937',
        'state': {'key': numpy['key'].numpy().astype(np.uint32), 'pos': numpy['pos']},
        'has_gauss': numpy['has_gauss'], 'gauss': numpy['gauss']})
    torch.set_rng_state(state['torch'])
    if 'cuda' in state and torch.cuda.is_available():
        torch.cuda.set_rng_state(state['cuda'])
