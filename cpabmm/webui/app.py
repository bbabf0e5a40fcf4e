"""The Gradio page: uploads, model and option choices, one job at a time
per device, the side-by-side result video and its downloads.

Gradio is imported only here, and only when the page is built
(:func:`import_gradio`): importing :mod:`cpabmm` or :mod:`cpabmm.webui`
never needs it. Before it is imported, everything that would call outside
the machine is switched off (:data:`PRIVATE_ENVIRONMENT`: Gradio's analytics
and version check, Hugging Face Hub telemetry and downloads); the page uses
the theme's bundled fonts. The server binds to 127.0.0.1 unless told
otherwise and serves only the app's own temporary folder
(:class:`~cpabmm.webui.storage.ResultStore`, also Gradio's upload and cache
folder), never a public share link.
"""
from __future__ import annotations

import html
import importlib.util
import inspect
import ipaddress
import os
import os.path as osp
import time
from dataclasses import dataclass, field
from typing import Any, Callable, List, Optional, Sequence, Tuple

from mmengine.logging import print_log

from cpabmm.apis.best_frame import LandmarkDetectorUnavailable
from cpabmm.apis.media import FIT_MODES
from cpabmm.fileio import WriteError
from cpabmm.zoo import DownloadError
from .jobs import JobOptions, JobResult, Limits, ModelCache, load_source, open_checked_driving
from .jobs import public_message, run_job
from .models import ModelChoice, available_modes, find_choices
from .storage import ResultStore

#: set before Gradio is imported: nothing phones home
PRIVATE_ENVIRONMENT = {
    'GRADIO_ANALYTICS_ENABLED': 'False',
    'HF_HUB_OFFLINE': '1',
    'HF_HUB_DISABLE_TELEMETRY': 'True',  # as Gradio sets it
    'HF_HUB_DISABLE_IMPLICIT_TOKEN': '1',
    'DO_NOT_TRACK': '1',
    'GRADIO_VIBE_MODE': '',  # no in-browser code editing through a hosted model
}
#: the one line printed where Gradio is missing
MISSING_GRADIO = 'the web app needs gradio: pip install -e .[webui]'
#: errors of bad input or a failed job, shown in the page as one line
JOB_ERRORS = (ValueError, LandmarkDetectorUnavailable, DownloadError, WriteError)
REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
#: the bundled example (source picture, driving video), where the tree has it
BUNDLED_EXAMPLE = (osp.join(REPO_ROOT, 'demo', 'source.png'),
                   osp.join(REPO_ROOT, 'demo', 'driving.mp4'))


class GradioUnavailable(RuntimeError):
    """Gradio is not installed (:data:`MISSING_GRADIO`)."""


def check_gradio() -> None:
    """Raise :class:`GradioUnavailable` where Gradio is not installed
    (without importing it)."""
    try:
        found = importlib.util.find_spec('gradio') is not None
    except (ImportError, ValueError):
        found = False
    if not found:
        raise GradioUnavailable(MISSING_GRADIO)


def import_gradio(temp_dir: Optional[str] = None) -> Any:
    """The ``gradio`` module, imported with :data:`PRIVATE_ENVIRONMENT` set
    and, with ``temp_dir``, ``GRADIO_TEMP_DIR`` pointing there (Gradio reads
    some of it on import: import it here first).

    Raises:
        GradioUnavailable: it is not installed.
    """
    if temp_dir is not None:
        os.environ['GRADIO_TEMP_DIR'] = temp_dir
    os.environ.update(PRIVATE_ENVIRONMENT)
    try:
        import gradio
    except ImportError:
        raise GradioUnavailable(MISSING_GRADIO) from None
    return gradio


@dataclass
class WebApp:
    """What the page serves.

    Attributes:
        choices: the models offered (:func:`~cpabmm.webui.models.list_models`).
        store: the app's temporary folder and results.
        device: where the models run (one job at a time on it).
        limits: what uploads may be.
        example: ``(source, driving)`` offered as an example, or None.
        models: the loaded models (default: a cache on ``device``).
    """
    choices: List[ModelChoice]
    store: ResultStore
    device: str = 'cpu'
    limits: Limits = Limits()
    example: Optional[Tuple[str, str]] = None
    models: Optional[ModelCache] = field(default=None)

    def __post_init__(self) -> None:
        if not self.choices:
            raise ValueError('no model to offer: the zoo has no local checkpoint and no '
                             '--config/--checkpoint pair was given')
        if self.models is None:
            self.models = ModelCache(self.device)

    def describe_keeping(self) -> str:
        seconds = self.store.keep_seconds
        if seconds % 3600 == 0:
            amount = f'{seconds // 3600:g} hour' + ('s' if seconds != 3600 else '')
        elif seconds % 60 == 0:
            amount = f'{seconds // 60:g} minute' + ('s' if seconds != 60 else '')
        else:
            amount = f'{seconds:g} seconds'
        return f'Results are kept for {amount} for download, then deleted.'


def page_error(gr: Any, error: BaseException, paths: Sequence[Optional[str]]) -> Exception:
    """A ``gr.Error`` with the one-line message of ``error`` (uploads named
    as uploaded, HTML escaped), shown until closed."""
    names = {path: osp.basename(path) for path in paths if path}
    return gr.Error(html.escape(public_message(error, names)), duration=None)


def build_app(app: WebApp) -> Any:
    """The Gradio ``Blocks`` of ``app``, its queue set to one job at a time
    on the device. Points ``GRADIO_TEMP_DIR`` at the app's folder, so
    uploads land there."""
    gr = import_gradio(app.store.root)
    keep = max(1, int(app.store.keep_seconds))
    by_label = {choice.label: choice for choice in app.choices}

    def show_source(path: Optional[str]):
        """The uploaded source as the models see it (checked, one-line errors)."""
        if not path:
            return None
        try:
            return load_source(path, app.limits)
        except JOB_ERRORS as error:
            raise page_error(gr, error, [path]) from None

    def check_driving(path: Optional[str]) -> None:
        if not path:
            return
        try:
            open_checked_driving(path, app.limits)
        except JOB_ERRORS as error:
            raise page_error(gr, error, [path]) from None

    def update_modes(labels: List[str], mode: str):
        chosen = [by_label[label] for label in labels or [] if label in by_label]
        modes = list(available_modes(chosen))
        return gr.update(choices=modes, value=mode if mode in modes else 'relative')

    def animate(source: Optional[str], driving: Optional[str], labels: List[str], mode: str,
                adapt_scale: bool, find_best_frame: bool, keypoints: bool, size: str,
                fit: str, progress=gr.Progress()) -> Tuple[str, List[str], str]:
        try:
            if not source:
                raise ValueError('upload a source picture (or pick the example)')
            if not driving:
                raise ValueError('upload a driving video (or pick the example)')
            options = JobOptions(mode, adapt_scale, find_best_frame, keypoints, size, fit)

            def report(stage: str, done: int, total: Optional[int]) -> None:
                unit = 'models' if stage.startswith('loading') else 'frames'
                progress((done, total), desc=stage, unit=unit)

            chosen = find_choices(app.choices, labels)
            chosen.sort(key=app.choices.index)  # the page's order, however they were checked
            result: JobResult = run_job(chosen, source, driving, options, app.store,
                                        app.models, app.limits, report)
        except JOB_ERRORS as error:
            raise page_error(gr, error, [source, driving]) from None
        print_log(f'job done: {result.folder}', logger='current')
        return result.video, result.downloads, result.summary()

    first = app.choices[:1]
    with gr.Blocks(title='cpabmm image animation', analytics_enabled=False,
                   delete_cache=(min(keep, 60), keep)) as blocks:
        gr.Markdown('# cpabmm: image animation\n'
                    'Animate a source picture by the motion of a driving video with one or '
                    'more models; the result shows source | driving | each model.')
        with gr.Row(equal_height=True):
            with gr.Column():
                source = gr.File(label='source picture', file_types=['image'],
                                 file_count='single', type='filepath', elem_id='source-file')
                preview = gr.Image(label='source as the models see it', interactive=False,
                                   format='png', height=240, elem_id='source-preview')
            driving = gr.Video(label='driving video', sources=['upload'], include_audio=True,
                               height=330, elem_id='driving-video')
        if app.example is not None and all(osp.isfile(path) for path in app.example):
            gr.Examples([list(app.example)], inputs=[source, driving],
                        label='bundled example (click to use it)', elem_id='examples')
        models = gr.CheckboxGroup(
            [(choice.description, choice.label) for choice in app.choices],
            value=[choice.label for choice in first], label='models',
            info='one column each, in this order', elem_id='models')
        with gr.Row():
            mode = gr.Radio(list(available_modes(first)), value='relative', label='mode',
                            elem_id='mode')
            fit = gr.Radio(list(FIT_MODES), value='crop', label='fit',
                           info='for pictures of another aspect ratio', elem_id='fit')
            size = gr.Textbox(label='frame size', placeholder='256 or HxW',
                              info='for models without a fixed size', elem_id='size')
        with gr.Row():
            adapt_scale = gr.Checkbox(True, label='adapt scale (relative mode)',
                                      elem_id='adapt-scale')
            find_best_frame = gr.Checkbox(False, label='find best frame (relative mode, '
                                          'faces)', elem_id='find-best-frame')
            keypoints = gr.Checkbox(False, label='show keypoints', elem_id='keypoints')
        run = gr.Button('Animate', variant='primary', elem_id='animate')
        result = gr.Video(label='result: source | driving | each model', show_label=False,
                          interactive=False, buttons=['download'], elem_id='result-video')
        downloads = gr.File(label='downloads: the side-by-side video and each model\'s result',
                            file_count='multiple', interactive=False, elem_id='downloads')
        summary = gr.Markdown(elem_id='summary')
        gr.Markdown(f'{app.limits.describe()} One job at a time on {app.device}. '
                    f'{app.describe_keeping()}', elem_id='limits')

        # checks of uploads run at once, beside any job
        source.change(show_source, source, preview, concurrency_limit=None)
        driving.upload(check_driving, driving, None, concurrency_limit=None)
        models.change(update_modes, [models, mode], mode, queue=False)
        run.click(animate, [source, driving, models, mode, adapt_scale, find_best_frame,
                            keypoints, size, fit], [result, downloads, summary],
                  api_name='animate', concurrency_limit=1, concurrency_id=app.device)
    blocks.queue(default_concurrency_limit=1)
    return blocks


def is_loopback(host: str) -> bool:
    """Whether ``host`` only accepts connections from this machine."""
    if host == 'localhost':
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def launch(app: WebApp, host: str = '127.0.0.1', port: Optional[int] = None,
           on_ready: Callable[[str], None] = print) -> Tuple[Any, str]:
    """Build the page and start serving it in the background; returns the
    ``Blocks`` and the local URL, which ``on_ready`` is told. Stop with
    ``blocks.close()`` and ``app.store.close()`` (:func:`serve` does)."""
    blocks = build_app(app)
    if not is_loopback(host):
        print_log(f'serving on {host}: anyone who can reach this machine can use the app',
                  logger='current')
    # off where this Gradio has them: MCP server, server-side rendering (Node),
    # app install, run history (which can save runs to Hugging Face), monitoring
    optional = dict(mcp_server=False, ssr_mode=False, pwa=False, run_history=False,
                    enable_monitoring=False, footer_links=['api', 'settings'])
    accepted = inspect.signature(blocks.launch).parameters
    _, local_url, _ = blocks.launch(
        server_name=host, server_port=port, share=False, prevent_thread_lock=True,
        quiet=True, inbrowser=False, show_error=False, allowed_paths=[app.store.root],
        max_file_size=app.limits.max_upload_bytes,
        **{name: value for name, value in optional.items() if name in accepted})
    app.store.start_sweeping()
    on_ready(local_url)
    return blocks, local_url


def serve(app: WebApp, host: str = '127.0.0.1', port: Optional[int] = None,
          on_ready: Callable[[str], None] = print) -> None:
    """:func:`launch`, then serve until interrupted (Ctrl-C, or SIGTERM
    where the caller turns it into one); the server is closed and the app's
    temporary folder deleted however it ends."""
    blocks = None
    try:
        blocks, _ = launch(app, host, port, on_ready)
        while True:
            time.sleep(0.5)
    finally:
        if blocks is not None:
            blocks.close()
        app.store.close()
