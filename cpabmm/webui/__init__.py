"""The web app (``tools/webui.py``): model listing, upload checks and limits,
jobs through :class:`cpabmm.apis.Comparison`, results kept for a while in the
app's own temporary folder, and the Gradio page (Gradio is imported only when
the page is built: ``pip install -e .[webui]``)."""
from .app import (MISSING_GRADIO, PRIVATE_ENVIRONMENT, GradioUnavailable, WebApp, build_app,
                  check_gradio, import_gradio, launch, serve)
from .jobs import (COMPARISON_NAME, JobOptions, JobResult, Limits, ModelCache, load_source,
                   open_checked_driving, public_message, result_names, run_job)
from .models import ModelChoice, available_modes, find_choices, list_models
from .storage import ResultStore

__all__ = [
    'COMPARISON_NAME', 'GradioUnavailable', 'JobOptions', 'JobResult', 'Limits',
    'MISSING_GRADIO', 'ModelCache', 'ModelChoice', 'PRIVATE_ENVIRONMENT', 'ResultStore',
    'WebApp', 'available_modes', 'build_app', 'check_gradio', 'find_choices', 'import_gradio',
    'launch', 'list_models', 'load_source', 'open_checked_driving', 'public_message',
    'result_names', 'run_job', 'serve'
]
