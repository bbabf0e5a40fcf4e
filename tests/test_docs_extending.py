"""docs/extending.md: every example of the guide runs.

The ```python blocks of each ``## `` section run in order in one namespace,
after those of the guide's first section with code (the set-up the examples
share), from the repository root; an error names the guide's file and line.
The classes a section registers are removed from the registries when it
ends, so the guide runs any number of times, in any order, in one process.
"""
import os.path as osp
import re
import tempfile
import traceback
from typing import Dict, List, Tuple

import pytest
import torch
from mmengine.registry import Registry

from cpabmm import registry

REPO_ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
GUIDE = 'docs/extending.md'
#: ``__name__`` of the namespace the guide runs in: its classes' ``__module__``
GUIDE_MODULE = 'docs_extending'
REGISTRIES = [value for value in vars(registry).values() if isinstance(value, Registry)]

Block = Tuple[int, str]  # (line of the guide where the code starts, code)


def read_sections(path: str) -> Dict[str, List[Block]]:
    """The python blocks of each ``## `` section that has any, in order."""
    sections: Dict[str, List[Block]] = {}
    heading, block, start = None, None, 0
    with open(path, encoding='utf-8') as f:
        for number, line in enumerate(f, start=1):
            if block is not None:
                if line.rstrip() == '```':
                    sections.setdefault(heading, []).append((start, ''.join(block)))
                    block = None
                else:
                    block.append(line)
            elif line.startswith('## '):
                heading = line[3:].strip()
            elif re.match(r'```python\s*$', line):
                if heading is None:
                    raise ValueError(f'{path}:{number}: a python block before the first section')
                block, start = [], number + 1
    if block is not None:
        raise ValueError(f'{path}:{start - 1}: unclosed python block')
    return sections


SECTIONS = read_sections(osp.join(REPO_ROOT, GUIDE))
SETUP, *EXAMPLES = SECTIONS


def registered_by_guide() -> List[Tuple[Registry, str]]:
    return [(reg, name) for reg in REGISTRIES for name, cls in reg.module_dict.items()
            if getattr(cls, '__module__', None) == GUIDE_MODULE]


def unregister_guide_classes() -> None:
    for reg, name in registered_by_guide():
        reg.module_dict.pop(name)


def run_blocks(heading: str, blocks: List[Block], namespace: dict) -> None:
    """Execute ``blocks`` in ``namespace``, each compiled at its own line of
    the guide, so that a traceback names the guide's lines."""
    for start, code in blocks:
        compiled = compile('\n' * (start - 1) + code, GUIDE, 'exec')
        try:
            exec(compiled, namespace)
            continue
        except Exception as err:  # the traceback from the guide's frame on
            trace = ''.join(traceback.format_exception(type(err), err, err.__traceback__.tb_next))
        pytest.fail(f'section {heading!r}: the example at {GUIDE}:{start} failed\n{trace}',
                    pytrace=False)


@pytest.fixture
def guide(monkeypatch, tmp_path):
    """``run(heading, blocks)``: run blocks in one namespace from the
    repository root, on one thread (fastest for these tiny models), with
    temporary folders under ``tmp_path``; the classes they register are
    dropped afterwards."""
    monkeypatch.chdir(REPO_ROOT)
    monkeypatch.setattr(tempfile, 'tempdir', str(tmp_path))
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    namespace = {'__name__': GUIDE_MODULE}
    unregister_guide_classes()
    yield lambda heading, blocks: run_blocks(heading, blocks, namespace)
    unregister_guide_classes()
    torch.set_num_threads(threads)


def test_the_guide_has_a_setup_and_three_examples():
    assert SETUP.startswith('Set-up'), SETUP
    assert [heading.split()[-1] for heading in EXAMPLES] == ['model', 'loss', 'dataset']


@pytest.mark.parametrize('heading', EXAMPLES)
def test_example_runs(guide, heading):
    guide(SETUP, SECTIONS[SETUP])
    assert not registered_by_guide()
    guide(heading, SECTIONS[heading])
    assert registered_by_guide(), f'section {heading!r} registers no class'


def test_definitions_run_twice_in_one_process(guide):
    """The file blocks (those that start with ``# cpabmm/...``) of every
    section register again once the previous run's classes are dropped."""
    files = [(start, code) for heading in EXAMPLES for start, code in SECTIONS[heading]
             if code.startswith('# cpabmm/')]
    assert len(files) >= 3
    first = None
    for _ in range(2):
        guide(SETUP, SECTIONS[SETUP])
        guide('definitions', files)
        names = sorted(name for _, name in registered_by_guide())
        assert first in (None, names)
        first = names
        unregister_guide_classes()
    assert set(first) >= {'SimilarityMotion', 'FlowSmoothnessLoss', 'FlowSmoothnessTerm',
                          'NearbyFramesDataset'}
