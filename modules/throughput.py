"""A Keras callback that measures training throughput, excluding the first (tracing) epoch."""
import json
import logging
import os
import time

import tensorflow as tf
import tf_keras

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
