"""Import a script of tools/ as a module, to call its ``main(argv)`` in-process."""
import importlib.util
import os.path as osp
from types import ModuleType

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def load_tool(name: str) -> ModuleType:
    """``tools/<name>.py`` as a module (named ``<name>_tool``)."""
    spec = importlib.util.spec_from_file_location(f'{name}_tool',
                                                  osp.join(REPO, 'tools', f'{name}.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
