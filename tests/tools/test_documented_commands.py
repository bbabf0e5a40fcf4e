"""Every ``python tools/<tool>.py ...`` command that the README, the docs, the
config READMEs and the tools' own ``--help`` texts show is accepted by that
tool's argument parser, with its placeholders (``CONFIG``, ``CHECKPOINT``,
``DIR``, ...) filled in and each optional ``[...]`` part included (its first
choice where it offers several), so a renamed or removed option cannot stay
in the docs. (The bundled demo, the downloads and every tool's behaviour run
in the tools' own tests.)"""
import argparse
import glob
import os.path as osp
import re
import shlex
from typing import Iterator, List, Tuple

import pytest

from .loading import REPO, load_tool

DOCUMENTS = (['README.md', 'model_zoo/README.md'] + sorted(glob.glob('docs/*.md', root_dir=REPO))
             + sorted(glob.glob('configs/*/README.md', root_dir=REPO))
             + sorted(glob.glob('tools/*.py', root_dir=REPO)))
COMMAND = re.compile(r'python tools/(\w+)\.py((?:\\\\?\n|[^\n`#])*)')
#: an inline code span of Markdown, which may wrap over lines
INLINE_CODE = re.compile(r'(?<!`)`(?!`)(?:[^`\n]|\n(?![ \t]*\n))+`(?!`)')
#: what each placeholder of the documented commands stands for
PLACEHOLDERS = {
    'CONFIG': 'configs/tpsmm/tpsmm_k10-small_1xb8-20e_synthetic-64.py',
    'CHECKPOINT': 'model_zoo/cpabmm-lite.pth', 'CKPT': 'model_zoo/cpabmm-lite.pth',
    'SRC': 'vox.pth.tar', 'DST': 'converted.pth', 'IN': 'epoch_1.pth', 'OUT': 'published.pth',
    'PATH': 'some/path', 'DIR': 'some/folder', 'NAME': 'cpabmm-lite', 'URL': 'https://host/a.pth',
    'HEX': '0' * 64, 'N': '2', 'GPUS': '2', 'METRIC': 'L1', 'FILE': 'metrics.json',
    'options': None,
}


class Parsed(Exception):
    """Raised instead of running the tool once its arguments are parsed."""


def expand_optional(text: str) -> str:
    """``[--mode a|b]`` -> ``--mode a``: every optional part, its first choice."""
    while '[' in text:
        text = re.sub(r'\[([^\[\]]*)\]', r' \1 ', text)
    text = re.sub(r'(\S+)\|\S+', lambda m: m.group(1).split('|')[0], text)
    return text.replace('...', ' ')


def documented_commands() -> Iterator[Tuple[str, str, List[str]]]:
    """``(where, tool, argv)`` of every documented command."""
    for document in DOCUMENTS:
        with open(osp.join(REPO, document), encoding='utf-8') as f:
            text = f.read()
        if document.endswith('.md'):  # same length: the line numbers stay
            text = INLINE_CODE.sub(lambda span: span.group(0).replace('\n', ' '), text)
        for match in COMMAND.finditer(text):
            line = text.count('\n', 0, match.start()) + 1
            tail = re.sub(r'\\\\?\n', ' ', match.group(2))
            tail = re.split(r'``|\)|;|, ', tail)[0]  # the end of an inline command
            words = [PLACEHOLDERS.get(word, word)
                     for word in shlex.split(expand_optional(tail), comments=True)]
            words = [word for word in words if word is not None]
            yield f'{document}:{line}', match.group(1), words


COMMANDS = list(documented_commands())


def test_the_documents_show_commands_of_every_tool():
    tools = {tool for _, tool, _ in COMMANDS}
    assert {'train', 'test', 'demo', 'download', 'convert_checkpoint', 'benchmark',
            'publish_model', 'crop_video'} <= tools


@pytest.mark.parametrize('where,tool,argv', COMMANDS,
                         ids=[f'{where}:{tool}' for where, tool, _ in COMMANDS])
def test_documented_command_is_accepted(monkeypatch, capsys, where, tool, argv):
    parse = argparse.ArgumentParser.parse_args

    def parse_then_stop(self, args=None, namespace=None):
        raise Parsed(parse(self, args, namespace))

    monkeypatch.setattr(argparse.ArgumentParser, 'parse_args', parse_then_stop)
    monkeypatch.setattr('sys.argv', [f'tools/{tool}.py'] + argv)  # for a main() without argv
    main = load_tool(tool).main
    try:
        main(argv) if main.__code__.co_argcount else main()
    except Parsed:
        return
    except SystemExit as exit:
        pytest.fail(f'{where}: `python tools/{tool}.py {shlex.join(argv)}` is refused '
                    f'(exit {exit.code}): {capsys.readouterr().err.strip()}')
    pytest.fail(f'{where}: tools/{tool}.py ran without parsing its arguments')
