"""The serving directory in TF Serving's layout, `<base>/<version>/saved_model.pb`, kept so that
a reader (TF Serving, `arith-tfx serve`, `predict`) sees every version whole or not at all:
versions appear by renaming a hidden staging folder into place and disappear by renaming them
to a hidden name before deleting. Hidden names (a leading dot) are never versions. A folder
rename is atomic on a local disk; on object stores (gs://, s3://) it is a copy and a delete,
which this layout does not yet guard against."""
import os
import time
import uuid
from typing import List


STAGING_PREFIX = ".staging-"
REMOVING_PREFIX = ".removing-"
FINGERPRINT = "fingerprint.pb"


def _gfile():
    """TF's filesystem layer (local folders and gs:// alike), imported only when used, so that
    `doctor` can read the prefixes above on a machine whose TensorFlow is broken."""
    import tensorflow as tf
    return tf.io.gfile


def versions(serving_dir: str) -> List[int]:
    """The complete versions in a serving directory, oldest first."""
    if not _gfile().exists(serving_dir):
        return []
    return sorted(int(name.rstrip("/")) for name in _gfile().listdir(serving_dir)
                  if name.rstrip("/").isdigit())


def next_version(serving_dir: str) -> int:
    """A Unix timestamp, as TFX's Pusher uses, but always above every existing version."""
    existing = versions(serving_dir)
    return max(int(time.time()), existing[-1] + 1 if existing else 0)


def publish(model_path: str, serving_dir: str) -> int:
    """Copies the SavedModel at `model_path` to `<serving_dir>/<new version>`; returns it."""
    if not _gfile().exists(os.path.join(model_path, "saved_model.pb")):
        raise ValueError(f"no SavedModel to push at {model_path} (saved_model.pb missing)")
    _gfile().makedirs(serving_dir)
    version = next_version(serving_dir)
    staging = os.path.join(serving_dir, f"{STAGING_PREFIX}{version}-{uuid.uuid4().hex[:8]}")
    try:
        _copy_tree(model_path, staging)
        _gfile().rename(staging, os.path.join(serving_dir, str(version)))
    finally:
        if _gfile().exists(staging):
            _gfile().rmtree(staging)
    return version


def same_model(model_path: str, version_path: str) -> bool:
    """Whether two SavedModels are the same model: TF writes `fingerprint.pb` with hashes of
    the graph, the signatures and the checkpoint into every SavedModel."""
    paths = [os.path.join(folder, FINGERPRINT) for folder in (model_path, version_path)]
    if not all(_gfile().exists(path) for path in paths):
        return False
    first, second = (_read(path) for path in paths)
    return first == second


def _read(path: str) -> bytes:
    with _gfile().GFile(path, "rb") as f:
        return f.read()


def _copy_tree(source: str, destination: str) -> None:
    for folder, _, files in _gfile().walk(source):
        target = os.path.join(destination, os.path.relpath(folder, source))
        _gfile().makedirs(target)
        for name in files:
            _gfile().copy(os.path.join(folder, name), os.path.join(target, name))


def remove_oldest(serving_dir: str, keep: int) -> List[int]:
    """Removes the oldest versions beyond the newest `keep`; returns them. The highest version,
    the one TF Serving serves, is always kept."""
    if keep < 1:
        raise ValueError(f"keep must be at least 1 (the served version), got {keep}")
    return [version for version in versions(serving_dir)[:-keep]
            if withdraw(serving_dir, version)]


def withdraw(serving_dir: str, version: int) -> bool:
    """Removes one version (hidden first, then deleted); False if it was already gone."""
    import tensorflow as tf
    hidden = os.path.join(serving_dir, f"{REMOVING_PREFIX}{version}-{uuid.uuid4().hex[:8]}")
    try:
        _gfile().rename(os.path.join(serving_dir, str(version)), hidden)
    except tf.errors.NotFoundError:
        return False  # removed meanwhile by another process
    _gfile().rmtree(hidden)
    return True
