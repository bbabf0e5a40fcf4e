"""Controlled experiments: many training runs, their evaluation and report."""
from .motion_families import ARMS, Run, experiment_runs
from .queue import run_commands

__all__ = ['ARMS', 'Run', 'experiment_runs', 'run_commands']
