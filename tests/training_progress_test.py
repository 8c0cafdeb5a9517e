"""The Trainer's progress line: step, examples/s from the second step on (tracing excluded), and
the time left, every so many seconds and at the last step."""
import logging

import pytest

from modules import progress, throughput


class _Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


@pytest.fixture()
def lines(caplog):
    caplog.set_level(logging.INFO, logger=progress.LOGGER)
    return lambda: [r.getMessage() for r in caplog.records if r.name == progress.LOGGER]


def _train(callback, clock, step_seconds):
    for seconds in step_seconds:
        clock.now += seconds
        callback.on_train_batch_end(0)


def test_the_rate_leaves_out_the_first_step_and_the_time_left_follows_it(monkeypatch, lines):
    clock = _Clock()
    monkeypatch.setattr(throughput.time, "monotonic", clock)
    callback = throughput.TrainingProgress(total_steps=100, batch_size=50, every_seconds=15)
    # Step 1 traces for 30 s; then a quarter of a second a step: 200 examples/s.
    _train(callback, clock, [30.0] + [0.25] * 59)
    assert lines() == []
    _train(callback, clock, [0.25])  # 15 s after step 1
    assert lines() == ["Trainer: step 61/100 (61%), 200 examples/s, about 10 s left"]
    _train(callback, clock, [0.25] * 39)
    assert lines()[1:] == ["Trainer: step 100/100 (100%), 200 examples/s, about 0 s left"]


def test_a_resumed_training_counts_from_its_checkpoint_and_long_waits_read_in_minutes(
        monkeypatch, lines):
    clock = _Clock()
    monkeypatch.setattr(throughput.time, "monotonic", clock)
    callback = throughput.TrainingProgress(total_steps=10_000, batch_size=10, first_step=5_000,
                                           every_seconds=15)
    _train(callback, clock, [5.0] + [0.125] * 120)  # 80 examples/s from step 5,001 on
    assert lines() == ["Trainer: step 5121/10000 (51%), 80 examples/s, about 10 min left"]
