"""Export an animation model to ONNX graphs for onnxruntime.

    python tools/export_onnx.py CONFIG CHECKPOINT OUT_DIR [--size 256|HxW] \\
        [--opset 18] [--dynamic-batch] [--cfg-options KEY=VALUE ...]

Writes ``keypoints.onnx``, ``dense_motion.onnx``, ``generator.onnx`` (and
``avd.onnx`` for models with an AVD network) and the manifest
``animator.json`` into ``OUT_DIR`` (:mod:`cpabmm.deploy`). FOMM's and TPSMM's
motion fits are inside the dense motion graph; CPABMM's keypoint fit and
CPAB transformation stay in PyTorch, between the keypoint and the dense
motion graph (docs/deploy.md). Animate with the export:

    python tools/demo.py --backend onnxruntime --onnx OUT_DIR \\
        --source photo.jpg --driving talk.mp4 --output result.mp4

``--size`` exports for another frame size than the config's (the networks
are convolutional; a checkpoint trained at 256 px works best at 256 px).
Needs the ``onnx`` extra: ``pip install -e .[onnx]``.

Exit status: 0 when the export was written, 2 for unusable input (a missing
config or checkpoint, an unknown ``--cfg-options`` key, a size the networks
cannot take, a missing ``onnx`` extra, an output folder that cannot be
written), 130/143 when interrupted; nothing is written unless every graph
was exported and checked.
"""
import argparse
import os.path as osp
import sys
from typing import List, Optional

from mmengine.config import DictAction
from mmengine.logging import print_log
from tqdm import tqdm

from cpabmm.apis import init_model
from cpabmm.apis.media import parse_size
from cpabmm.deploy import STAGES, export_onnx
from cpabmm.deploy.export import DEFAULT_OPSET
from cpabmm.engine import load_config
from cpabmm.fileio import WriteError, check_writable_destination
from cpabmm.utils.tool import tool_main
from cpabmm.zoo.checksum import file_sha256


def size_argument(text: str):
    try:
        return parse_size(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Export an animation model to ONNX.')
    parser.add_argument('config', help='model config file')
    parser.add_argument('checkpoint', help='its checkpoint (MMEngine format; convert '
                        'official files with tools/convert_checkpoint.py)')
    parser.add_argument('out_dir', help='folder for the graphs and animator.json')
    parser.add_argument('--size', type=size_argument, help="frame size, N or HxW (default: "
                        "the config's image_size)")
    parser.add_argument('--opset', type=int, default=DEFAULT_OPSET,
                        help=f'ONNX opset (default {DEFAULT_OPSET}, at least 16)')
    parser.add_argument('--dynamic-batch', action='store_true',
                        help='graphs that take any batch size (default: batch 1)')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config entries, e.g. model.motion.solver=adam')
    return parser.parse_args(argv)


def export(args: argparse.Namespace) -> dict:
    out_dir = check_writable_destination(args.out_dir, 'folder', 'OUT_DIR')
    if not osp.isfile(args.checkpoint):
        raise ValueError(f'{args.checkpoint}: no such checkpoint file')
    cfg = load_config(args.config, args.cfg_options)
    configured = cfg.model.get('image_size')
    if args.size is not None:
        if configured is not None and tuple(configured) != tuple(args.size):
            print_log(f'exporting for {args.size[0]}x{args.size[1]} frames; the config says '
                      f'{configured[0]}x{configured[1]}', logger='current')
        cfg.model.image_size = tuple(args.size)
    elif configured is None:
        raise ValueError('the config fixes no image size; give --size (e.g. --size 256)')
    model = init_model(cfg, args.checkpoint, device='cpu')
    source = dict(config=args.config, checkpoint=osp.basename(args.checkpoint),
                  checkpoint_sha256=file_sha256(args.checkpoint))
    stages = STAGES if getattr(model, 'avd', None) is not None else STAGES[:-1]
    with tqdm(total=len(stages), desc='exporting', unit='graph') as bar:
        def progress(stage: str) -> None:
            bar.n = stages.index(stage)
            bar.set_postfix_str(stage)
        manifest = export_onnx(model, out_dir, motion_config=cfg.model.motion,
                               opset=args.opset, dynamic_batch=args.dynamic_batch,
                               source=source, progress=progress)
        bar.n = bar.total
        bar.set_postfix_str('done')
    return manifest


def report(manifest: dict, out_dir: str) -> None:
    for stage, graph in manifest['graphs'].items():
        size = osp.getsize(osp.join(out_dir, graph['file'])) / 2 ** 20
        print_log(f"  {graph['file']:<18} {size:7.1f} MB  inputs: {', '.join(graph['inputs'])}",
                  logger='current')
    motion = manifest['motion']
    where = 'in the dense motion graph' if motion['in_graph'] else \
        'in PyTorch (between the keypoint and the dense motion graph)'
    height, width = manifest['image_size']
    print_log(f"wrote {out_dir}: {height}x{width} frames, opset {manifest['opset']}, "
              f"{motion['type']} {where}", logger='current')
    print_log(f'animate with tools/demo.py --backend onnxruntime --onnx {out_dir} --source '
              'SOURCE --driving DRIVING', logger='current')


@tool_main('nothing was written')
def main(argv: Optional[List[str]] = None) -> int:
    args = parse_args(argv)
    try:
        manifest = export(args)
    except (ValueError, ImportError) as error:
        print(f'error: {error}', file=sys.stderr)
        return 2
    except WriteError as error:
        print(f'error: {error}', file=sys.stderr)
        return 1
    report(manifest, args.out_dir)
    return 0


if __name__ == '__main__':
    sys.exit(main())
