"""Where downloaded checkpoints are kept."""
from __future__ import annotations

import os
import os.path as osp
from typing import Optional

#: environment variable that moves the whole cpabmm cache
HOME_ENV = 'CPABMM_HOME'


def cache_dir(dest: Optional[str] = None) -> str:
    """The checkpoint cache folder (not created here).

    ``dest`` when given; otherwise ``$CPABMM_HOME/checkpoints``, and without
    ``CPABMM_HOME`` ``$XDG_CACHE_HOME/cpabmm/checkpoints`` (by default
    ``~/.cache/cpabmm/checkpoints``).
    """
    if dest:
        return osp.abspath(osp.expanduser(dest))
    home = os.environ.get(HOME_ENV)
    if not home:
        cache_root = os.environ.get('XDG_CACHE_HOME') or osp.join('~', '.cache')
        home = osp.join(cache_root, 'cpabmm')
    return osp.abspath(osp.join(osp.expanduser(home), 'checkpoints'))
