"""fresh_run_state: what a run adds to MMEngine's global tables goes when it ends."""
import contextlib
import io
import logging
import os.path as osp

from mmengine.config import Config
from mmengine.logging import MessageHub, MMLogger
from mmengine.registry import DefaultScope
from mmengine.runner import Runner

from cpabmm.utils.run_state import fresh_run_state
from tests.runner_clock import same_second

CONFIG = osp.join(osp.dirname(osp.dirname(osp.abspath(__file__))), 'data', 'configs',
                  'tiny_regressor_runner.py')


@fresh_run_state()
def test_instances_created_meanwhile_are_dropped_and_closed(tmp_path):
    outer = MessageHub.get_instance('outer')
    with fresh_run_state():
        logger = MMLogger.get_instance('run', log_file=str(tmp_path / 'run.log'))
        (file_handler,) = [h for h in logger.handlers if isinstance(h, logging.FileHandler)]
        MessageHub.get_instance('run')
        DefaultScope.get_instance('run', scope_name='cpabmm')
        assert MessageHub.get_instance('outer') is outer
    for cls in (MMLogger, MessageHub, DefaultScope):
        assert not cls.check_instance_created('run'), cls
    assert logger.handlers == [] and file_handler.stream is None  # the log file is closed
    assert MessageHub.get_instance('outer') is outer


def test_each_run_gets_a_fresh_instance_of_the_same_name():
    @fresh_run_state()
    def run(loss: float) -> dict:
        hub = MessageHub.get_instance('run')
        hub.update_scalar('train/loss', loss)
        return hub.log_scalars['train/loss'].data[0].tolist()

    assert run(1.0) == [1.0]
    assert run(2.0) == [2.0]


@fresh_run_state()
def test_runs_of_one_config_in_the_same_second_keep_their_own_history_and_log(
        tmp_path, monkeypatch, capsys):
    """The second run neither appends to the first's loss history nor logs
    through the first's console handler, whose stream is closed by now."""
    same_second(monkeypatch)

    def train(work_dir: str) -> Runner:
        cfg = Config.fromfile(CONFIG)
        cfg.work_dir = work_dir
        with fresh_run_state():
            runner = Runner.from_cfg(cfg)
            runner.train()
        return runner

    with contextlib.redirect_stdout(io.StringIO()) as first_stdout:
        first = train(str(tmp_path / 'first'))
    first_stdout.close()
    second = train(str(tmp_path / 'second'))
    assert first.experiment_name == second.experiment_name
    for runner in (first, second):
        assert len(runner.message_hub.get_scalar('train/loss').data[0]) == 6
        with open(runner.logger.log_file) as log:
            assert log.read().count('Iter(train)') == 6
    captured = capsys.readouterr()
    assert 'Logging error' not in captured.err
    assert captured.out.count('Iter(train)') == 6
