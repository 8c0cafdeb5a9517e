"""Keras callbacks that measure training throughput, excluding the first (tracing) epoch, and
report training progress."""
import json
import logging
import os
import time

import tensorflow as tf
import tf_keras

from modules import progress

REPORT = "throughput.json"


class Throughput(tf_keras.callbacks.Callback):
    """Logs examples/s per epoch; writes the steady-state figure to `<log_dir>/throughput.json`."""

    def __init__(self, batch_size: int, steps_per_epoch: int, log_dir: str = ""):
        super().__init__()
        self._examples_per_epoch = batch_size * steps_per_epoch
        self._log_dir = log_dir
        self._started = 0.0
        self._test_started = 0.0
        self.seconds = []

    def on_epoch_begin(self, epoch, logs=None):
        self._started = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        # Validation runs inside the epoch; on_test_end takes its time back out.
        self.seconds.append(time.perf_counter() - self._started)

    def on_test_begin(self, logs=None):
        self._test_started = time.perf_counter()

    def on_test_end(self, logs=None):
        self._started += time.perf_counter() - self._test_started

    @property
    def examples_per_second(self) -> float:
        steady = self.seconds[1:] or self.seconds
        return self._examples_per_epoch * len(steady) / sum(steady) if steady else 0.0

    def on_train_end(self, logs=None):
        rate = self.examples_per_second
        logging.info("training throughput: %.0f examples/s (epochs after the first)", rate)
        if self._log_dir:
            tf.io.gfile.makedirs(self._log_dir)
            with tf.io.gfile.GFile(os.path.join(self._log_dir, REPORT), "w") as f:
                json.dump({"examples_per_second": rate, "epoch_seconds": self.seconds}, f)


def _duration(seconds: float) -> str:
    return f"{seconds:.0f} s" if seconds < 120 else f"{seconds / 60:.0f} min"


class TrainingProgress(tf_keras.callbacks.Callback):
    """A line every `every_seconds` and at the end: step, examples/s, time left. The rate is
    measured from the second step on, so that tracing the model does not count."""

    def __init__(self, total_steps: int, batch_size: int, first_step: int = 0,
                 every_seconds: float = 15.0):
        super().__init__()
        self._total = total_steps
        self._batch = batch_size
        self._step = first_step
        self._every = every_seconds
        self._rate_from = None  # (step, time) after the first step
        self._last_line = 0.0

    def on_train_batch_end(self, batch, logs=None):
        self._step += 1
        now = time.monotonic()
        if self._rate_from is None:
            self._rate_from = (self._step, now)
            self._last_line = now
            return
        if now - self._last_line < self._every and self._step < self._total:
            return
        self._last_line = now
        steps, since = self._step - self._rate_from[0], now - self._rate_from[1]
        rate = steps * self._batch / since if since > 0 else 0.0
        left = (self._total - self._step) * self._batch / rate if rate else 0.0
        progress.report("Trainer: step %d/%d (%d%%), %s examples/s, about %s left", self._step,
               self._total, 100 * self._step // self._total, f"{rate:,.0f}", _duration(left))
