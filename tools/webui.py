"""Serve the web app: animate an uploaded picture by an uploaded video in the
browser, with one or more models side by side.

    pip install -e .[webui]
    python tools/webui.py [--host 127.0.0.1] [--port 7860] [--device cpu] \\
        [--checkpoint-dir DIR ...] [--config CONFIG.py --checkpoint CKPT ...] \\
        [--max-frames 1000] [--max-side 4096] [--max-upload-mb 200] [--keep-results 3600]

The page offers every model of the zoo whose checkpoint is here (the bundled
ones, downloads in the checkpoint cache, and official checkpoints once
converted: the file their ``Convert`` command writes, e.g.
``tpsmm_vox-256.pth``, in the cache or in a ``--checkpoint-dir`` folder,
under the zoo name), and each ``--config``/``--checkpoint`` pair. It never
downloads anything. A job animates the source with every chosen model
(``tools/demo.py --compare``'s side-by-side video, with the driving audio)
and also writes each model's own result; both play in the page and can be
downloaded for ``--keep-results`` seconds. One job runs at a time on the
device; others wait in the queue.

The server binds to 127.0.0.1 (``--host 0.0.0.0`` opens it to the network),
serves only the app's own temporary folder, which is deleted when it stops,
loads checkpoints weights-only, and sends nothing outside the machine
(Gradio's analytics and version check off; no share links).

It runs until stopped. Exit status: 130 when stopped by Ctrl-C, 143 by
SIGTERM (the temporary folder is deleted either way); 2 for unusable
options (a missing file or folder, no model to offer, a CUDA device where
there is none) or when gradio is not installed (``error: the web app needs
gradio: pip install -e .[webui]``); 1 when the server cannot start (e.g. the
port is taken).
"""
from __future__ import annotations

import argparse
import os.path as osp
import sys
from typing import List, Optional

from cpabmm.apis.inference import choose_device
from cpabmm.utils.tool import tool_main
from cpabmm.webui import (GradioUnavailable, Limits, ResultStore, WebApp, check_gradio,
                          list_models, serve)
from cpabmm.webui.app import BUNDLED_EXAMPLE


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Serve the image-animation web app (Gradio) on this machine.')
    parser.add_argument('--host', default='127.0.0.1',
                        help='address to listen on (default 127.0.0.1: this machine only; '
                        '0.0.0.0 for every network interface)')
    parser.add_argument('--port', type=int,
                        help='port (default: the first free one from 7860)')
    parser.add_argument('--device', help='cuda, cuda:1, cpu... (default: cuda when '
                        'available, else cpu); one job at a time runs on it')
    parser.add_argument('--checkpoint-dir', action='append', default=[], metavar='DIR',
                        help='a folder of converted official checkpoints (named as their '
                        'zoo entry\'s Convert command writes them); repeatable; the '
                        'checkpoint cache is always searched')
    parser.add_argument('--config', action='append', default=[], metavar='CONFIG.py',
                        help='offer the model of this config, with the --checkpoint given '
                        'after it; repeatable, in pairs')
    parser.add_argument('--checkpoint', action='append', default=[], metavar='CKPT',
                        help='the checkpoint of the --config before it')
    parser.add_argument('--max-frames', type=int, default=Limits.max_frames,
                        help=f'longest driving video, in frames (default {Limits.max_frames})')
    parser.add_argument('--max-side', type=int, default=Limits.max_side,
                        help='largest picture or driving frame side, in pixels (default '
                        f'{Limits.max_side})')
    parser.add_argument('--max-upload-mb', type=float, default=Limits.max_upload_mb,
                        help='largest uploaded file, in MB (default '
                        f'{Limits.max_upload_mb:g})')
    parser.add_argument('--keep-results', type=float, default=3600, metavar='SECONDS',
                        help='how long results stay for download (default 3600: an hour)')
    parser.add_argument('--temp-dir', metavar='DIR',
                        help='where to make the app\'s temporary folder (default: the '
                        'system\'s temporary folder)')
    return parser.parse_args(argv)


def build(args: argparse.Namespace) -> WebApp:
    """The app the options describe (checked before anything is served).

    Raises:
        ValueError: mismatched --config/--checkpoint, missing files, bad
            limits, no model, an unusable device.
    """
    if len(args.config) != len(args.checkpoint):
        raise ValueError(f'give --config and --checkpoint in pairs: {len(args.config)} '
                         f'--config, {len(args.checkpoint)} --checkpoint')
    limits = Limits(args.max_frames, args.max_side, args.max_upload_mb)
    device = choose_device(args.device)
    choices = list_models(args.checkpoint_dir, list(zip(args.config, args.checkpoint)))
    example = BUNDLED_EXAMPLE if all(osp.isfile(path) for path in BUNDLED_EXAMPLE) else None
    store = ResultStore(args.keep_results, args.temp_dir)
    try:
        return WebApp(choices, store, device, limits, example)
    except BaseException:
        store.close()
        raise


def announce(url: str) -> None:
    print(f'cpabmm web app running on local URL:  {url}  (Ctrl-C stops it)', flush=True)


@tool_main('the app stopped and its temporary folder was deleted')
def main(argv: Optional[List[str]] = None) -> int:
    args = parse_args(argv)
    try:
        check_gradio()
        app = build(args)
        serve(app, args.host, args.port, announce)  # imports gradio
    except (ValueError, GradioUnavailable) as error:
        print(f'error: {error}', file=sys.stderr)
        return 2
    except OSError as error:  # the port is taken, the address unknown...
        reason = str(error).split('. ')[0]
        if reason.startswith('Cannot find empty port'):
            reason = (f'port {args.port} is taken; choose another --port' if args.port
                      else 'no free port from 7860 on; choose one with --port')
        print(f'error: could not serve on {args.host}: {reason}', file=sys.stderr)
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main())
