"""A SIGINT / SIGTERM never cuts a storage write in half: the write completes, then the trial
stops as interrupted (on PostgreSQL a cut commit failed the trial with StorageInternalError and
printed a traceback). The signal is delivered by calling the handler where the OS would."""

from __future__ import annotations

import signal

import optuna
import pytest
from optuna.trial import TrialState

from nas.search import SearchConfig
from nas.search._signals import StopSignals
from nas.search._workers import _make_objective, work
from tests.search import fakes


class SignalInWrite(optuna.storages.InMemoryStorage):
    """Storage whose first write of ``what`` (a param name, or a user attribute key) receives
    a SIGTERM halfway, before the write lands."""

    def __init__(self, signals: StopSignals, what: str) -> None:
        super().__init__()
        self.signals, self.what, self.fired = signals, what, False

    def _signal_if(self, name: str) -> None:
        if name == self.what and not self.fired:
            self.fired = True
            self.signals._handle(signal.SIGTERM, None)

    def set_trial_param(self, trial_id, param_name, param_value_internal, distribution):
        self._signal_if(param_name)
        super().set_trial_param(trial_id, param_name, param_value_internal, distribution)

    def set_trial_user_attr(self, trial_id, key, value):
        self._signal_if(key)
        super().set_trial_user_attr(trial_id, key, value)


def _run_until_signal(tmp_path, what: str) -> optuna.trial.FrozenTrial:
    cfg = SearchConfig(n_trials=3, jobs=1, study_name="sig", studies_dir=tmp_path / "studies",
                       preset="smoke", progress=False, sampler="random", references=(),
                       **fakes.FAKE)
    signals = StopSignals()  # not installed: the test plays the OS
    storage = SignalInWrite(signals, what)
    study = optuna.create_study(storage=storage, directions=["maximize", "minimize"])
    study.enqueue_trial({"depth": 2, "base": 8})  # a net that fits, so it trains
    objective = _make_objective(cfg, fakes.fake_components(cfg), signals)
    with pytest.raises(KeyboardInterrupt):
        work(cfg, study, objective, None, signals=signals)
    assert storage.fired
    (trial,) = study.get_trials()
    return trial


@pytest.mark.parametrize("what", ["last_epoch", "spec"])
def test_signal_during_a_write_in_training_lands_the_write(fake_backend, tmp_path, what):
    # last_epoch: written by the training's epoch callback; spec: just before training
    trial = _run_until_signal(tmp_path, what)
    assert what in trial.user_attrs  # the write was not cut
    assert trial.state == TrialState.FAIL
    assert trial.user_attrs["fail_reason"] == "interrupted by SIGTERM"


def test_signal_while_sampling_lands_the_param_and_stops_before_training(fake_backend,
                                                                          tmp_path):
    trial = _run_until_signal(tmp_path, "depth")  # the space's first parameter
    assert trial.params["depth"] == 2
    assert trial.state == TrialState.FAIL
    assert trial.user_attrs["fail_reason"] == "interrupted by SIGTERM"
    assert "trained" not in trial.user_attrs  # stopped before training started


class _Exited:
    """A worker process that has already exited (a terminal's Ctrl-C reached it too)."""

    exitcode = 128 + signal.SIGINT

    def is_alive(self) -> bool:
        return False

    def join(self, timeout: float | None = None) -> None:
        pass


class _ExitsOnSignal(_Exited):
    """A worker that exits 130 as soon as the signal is noted in the parent."""

    def __init__(self, signals: StopSignals) -> None:
        self.signals = signals

    def is_alive(self) -> bool:
        return self.signals.signum is None


def test_watch_stops_on_a_signal_noted_as_the_last_worker_exits():
    """The race behind a Ctrl-C reported as 'worker exited with code 130' (exit 1): the
    workers exit before the parent's loop looks at the signal it noted."""
    from nas.search._signals import Interrupted
    from nas.search._workers import watch

    signals = StopSignals()
    ticks: list[int] = []

    def tick() -> None:  # the parent notes the Ctrl-C during its progress refresh
        ticks.append(1)
        signals._handle(signal.SIGINT, None)

    with pytest.raises(Interrupted) as caught:
        watch([_ExitsOnSignal(signals), _ExitsOnSignal(signals)], signals, tick, poll_s=0.0)
    assert caught.value.signum == signal.SIGINT and ticks == [1]
    signals.signum = None
    watch([_Exited()], signals, tick, poll_s=0.0)  # no signal: the workers simply finished
    assert ticks == [1]
