# The published FOMM schedule: as TPSMM's (100 epochs over the repeated
# dataset, training hooks) with the learning rates x0.1 at epochs 60 and 90.
_base_ = ['./tpsmm-100e.py']

param_scheduler = dict(milestones=[60, 90])
