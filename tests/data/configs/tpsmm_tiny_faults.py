# tpsmm_tiny_resume.py, killed where the CPABMM_FAULT variable says
# (tests/engine/fault_points.py; tests/engine/test_fault_injection.py).
_base_ = ['./tpsmm_tiny_resume.py']

custom_imports = dict(imports=['tests.engine.fault_points'], allow_failed_imports=False)
custom_hooks = [
    dict(type='SetEpochHook'),
    dict(type='NonFiniteLossHook', action='stop'),
    dict(type='FaultPointHook'),
]
