"""The serving directory in TF Serving's layout, `<base>/<version>/saved_model.pb`, kept so that
a reader (TF Serving, `arith-tfx serve`, `predict`) sees every version whole or not at all:
versions appear by renaming a hidden staging folder into place and disappear by renaming them
to a hidden name before deleting. Hidden names (a leading dot) are never versions."""
import os
import time
import uuid
from typing import List

import tensorflow as tf  # gfile: local folders and object stores (gs://) alike

STAGING_PREFIX = ".staging-"
REMOVING_PREFIX = ".removing-"


def versions(serving_dir: str) -> List[int]:
    """The complete versions in a serving directory, oldest first."""
    if not tf.io.gfile.exists(serving_dir):
        return []
    return sorted(int(name.rstrip("/")) for name in tf.io.gfile.listdir(serving_dir)
                  if name.rstrip("/").isdigit())


def next_version(serving_dir: str) -> int:
    """A Unix timestamp, as TFX's Pusher uses, but always above every existing version."""
    existing = versions(serving_dir)
    return max(int(time.time()), existing[-1] + 1 if existing else 0)


def publish(model_path: str, serving_dir: str) -> int:
    """Copies the SavedModel at `model_path` to `<serving_dir>/<new version>`; returns it."""
    if not tf.io.gfile.exists(os.path.join(model_path, "saved_model.pb")):
        raise ValueError(f"no SavedModel to push at {model_path} (saved_model.pb missing)")
    tf.io.gfile.makedirs(serving_dir)
    version = next_version(serving_dir)
    staging = os.path.join(serving_dir, f"{STAGING_PREFIX}{version}-{uuid.uuid4().hex[:8]}")
    try:
        _copy_tree(model_path, staging)
        tf.io.gfile.rename(staging, os.path.join(serving_dir, str(version)))
    finally:
        if tf.io.gfile.exists(staging):
            tf.io.gfile.rmtree(staging)
    return version


def _copy_tree(source: str, destination: str) -> None:
    for folder, _, files in tf.io.gfile.walk(source):
        target = os.path.join(destination, os.path.relpath(folder, source))
        tf.io.gfile.makedirs(target)
        for name in files:
            tf.io.gfile.copy(os.path.join(folder, name), os.path.join(target, name))


def remove_oldest(serving_dir: str, keep: int) -> List[int]:
    """Removes the oldest versions beyond the newest `keep`; returns them. The highest version,
    the one TF Serving serves, is always kept."""
    if keep < 1:
        raise ValueError(f"keep must be at least 1 (the served version), got {keep}")
    doomed = versions(serving_dir)[:-keep]
    for version in doomed:
        hidden = os.path.join(serving_dir, f"{REMOVING_PREFIX}{version}-{uuid.uuid4().hex[:8]}")
        tf.io.gfile.rename(os.path.join(serving_dir, str(version)), hidden)
        tf.io.gfile.rmtree(hidden)
    return doomed
