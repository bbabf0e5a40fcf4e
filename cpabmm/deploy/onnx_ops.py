"""How the exporter writes the operations ONNX has no standard operator for.

The motion fits invert small matrices: the affine maps' 2x2 Jacobians and
TPS's (n+3)x(n+3) spline systems, whose condition numbers reach 3e3. ONNX
has no matrix inverse; onnxruntime has one in its ``com.microsoft`` domain
(``Inverse``, CPU and CUDA). ``torch.linalg.inv_ex`` becomes that operator
applied in **float64** (cast in, inverse, cast back): the graph's inverse is
then at least as accurate as PyTorch's float32 one, and an unrolled float32
elimination (inaccurate at these condition numbers) is never needed. The
``info`` output is all zeros: a singular system gives non-finite values,
as the PyTorch models give on devices they do not check.
"""
from __future__ import annotations

from typing import Callable, Dict

import onnx
import torch
from onnx.defs import OpSchema
import onnxscript
from onnxscript import opset18 as op

#: onnxruntime's domain of its own operators
MS_DOMAIN = 'com.microsoft'
_FLOAT64 = onnx.TensorProto.DOUBLE
_INT32 = onnx.TensorProto.INT32


def _register_inverse_schema() -> None:
    """Tell onnx (and so onnxscript and the checker) the signature of
    onnxruntime's ``com.microsoft::Inverse``."""
    if onnx.defs.has('Inverse', MS_DOMAIN):
        return
    onnx.defs.register_schema(OpSchema(
        'Inverse', MS_DOMAIN, 1,
        doc='Inverse of each square matrix of the last two dimensions (onnxruntime).',
        inputs=[OpSchema.FormalParameter('X', 'T')],
        outputs=[OpSchema.FormalParameter('Y', 'T')],
        type_constraints=[('T', ['tensor(float16)', 'tensor(float)', 'tensor(double)'],
                           'floating-point matrices')]))


_register_inverse_schema()
_ms = onnxscript.values.Opset(MS_DOMAIN, 1)


def _linalg_inv_ex(matrix, check_errors: bool = False):
    """``torch.linalg.inv_ex``: the float64 inverse and zero ``info``."""
    inverse = op.CastLike(_ms.Inverse(op.Cast(matrix, to=_FLOAT64)), matrix)
    batch_shape = op.Slice(op.Shape(matrix), [0], [-2])
    return inverse, op.Cast(op.ConstantOfShape(batch_shape), to=_INT32)


def translation_table() -> Dict[Callable, Callable]:
    """The exporter's ``custom_translation_table``."""
    return {torch.ops.aten.linalg_inv_ex.default: _linalg_inv_ex}
