"""Deployment: the animation models as ONNX graphs (:func:`export_onnx`).

Importing this package needs only torch; exporting needs the ``onnx`` extra
(``pip install -e .[onnx]``: onnx, onnxscript, onnxruntime).
"""
from .export import ExportError, export_onnx
from .manifest import MANIFEST, read_manifest
from .graphs import STAGES

__all__ = ['MANIFEST', 'STAGES', 'ExportError', 'export_onnx', 'read_manifest']
