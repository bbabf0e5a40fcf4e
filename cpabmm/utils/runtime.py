"""Explicit MMEngine set-up: nothing in cpabmm changes MMEngine on import."""
from cpabmm.checkpoint import register_checkpoint_scheme


def setup_runtime() -> None:
    """Set MMEngine up for cpabmm (idempotent): local checkpoints (``load_from``,
    ``resume``, ``load_checkpoint``) are read weights-only and must be MMEngine
    checkpoints (:func:`cpabmm.checkpoint.read_model_checkpoint`).

    Called by the tools, :func:`cpabmm.apis.init_model` and the tests; call it
    before building a Runner of your own.
    """
    register_checkpoint_scheme()
