"""The serving directory in TF Serving's layout, `<base>/<version>/saved_model.pb`, kept so that
a reader (TF Serving, `arith-tfx serve`, `predict`) sees every version whole or not at all.

On a local disk, versions appear by renaming a hidden staging folder into place and disappear
by renaming them to a hidden name before deleting; hidden names (a leading dot) are never
versions. On object stores (gs://, s3://), where a folder rename is a copy and a delete
(components/object_store.py), a version is copied in place with `saved_model.pb` last: that
file commits it. Readers take only version folders that have it, and a version is withdrawn by
deleting it first. TF Serving itself may see a version folder before its commit: it then fails
to load it and retries (ServerCore's max_num_load_retries, default 5, a minute apart), so a copy
that takes longer than that leaves the version unloaded until TF Serving restarts."""
import os
import time
import uuid
from typing import List

from components import object_store

STAGING_PREFIX = ".staging-"
REMOVING_PREFIX = ".removing-"
FINGERPRINT = "fingerprint.pb"
COMMIT_FILE = "saved_model.pb"
# Where a folder cannot be renamed: marks a version being copied in place, until its commit file.
COPYING = ".copying"


def _gfile():
    """TF's filesystem layer (local folders and gs:// alike), imported only when used, so that
    `doctor` can read the prefixes above on a machine whose TensorFlow is broken."""
    import tensorflow as tf
    return tf.io.gfile


def versions(serving_dir: str) -> List[int]:
    """The complete (committed) versions in a serving directory, oldest first."""
    return [version for version in _version_folders(serving_dir)
            if _gfile().exists(os.path.join(serving_dir, str(version), COMMIT_FILE))]


def uncommitted(serving_dir: str) -> List[int]:
    """Version folders this module began copying in place and did not commit (an interrupted
    push on an object store). Never read; removed by the next push."""
    return [version for version in sorted(set(_version_folders(serving_dir))
                                          - set(versions(serving_dir)))
            if _gfile().exists(os.path.join(serving_dir, str(version), COPYING))]


def _version_folders(serving_dir: str) -> List[int]:
    if not _gfile().exists(serving_dir):
        return []
    return sorted(int(name.rstrip("/")) for name in _gfile().listdir(serving_dir)
                  if name.rstrip("/").isdigit())


def next_version(serving_dir: str) -> int:
    """A Unix timestamp, as TFX's Pusher uses, but always above every existing version."""
    existing = _version_folders(serving_dir)
    return max(int(time.time()), existing[-1] + 1 if existing else 0)


def publish(model_path: str, serving_dir: str) -> int:
    """Copies the SavedModel at `model_path` to `<serving_dir>/<new version>`; returns it."""
    if not _gfile().exists(os.path.join(model_path, COMMIT_FILE)):
        raise ValueError(f"no SavedModel to push at {model_path} ({COMMIT_FILE} missing)")
    _gfile().makedirs(serving_dir)
    if not object_store.renames_atomically(serving_dir):
        for leftover in uncommitted(serving_dir):
            _gfile().rmtree(os.path.join(serving_dir, str(leftover)))
        version = next_version(serving_dir)
        target = os.path.join(serving_dir, str(version))
        _gfile().makedirs(target)
        with _gfile().GFile(os.path.join(target, COPYING), "w") as marker:
            marker.write("a version being copied; saved_model.pb, copied last, commits it\n")
        _copy_tree(model_path, target)
        _gfile().remove(os.path.join(target, COPYING))
        return version
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
    """Every file, the commit file last."""
    for folder, _, files in _gfile().walk(source):
        target = os.path.join(destination, os.path.relpath(folder, source))
        _gfile().makedirs(target)
        for name in files:
            if not (folder == source and name == COMMIT_FILE):
                _gfile().copy(os.path.join(folder, name), os.path.join(target, name))
    _gfile().copy(os.path.join(source, COMMIT_FILE), os.path.join(destination, COMMIT_FILE))


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
    if not object_store.renames_atomically(serving_dir):
        folder = os.path.join(serving_dir, str(version))
        if version not in versions(serving_dir):
            return False
        with _gfile().GFile(os.path.join(folder, COPYING), "w") as marker:
            marker.write("a version being removed\n")  # so that an interruption is cleaned up
        try:
            _gfile().remove(os.path.join(folder, COMMIT_FILE))  # uncommits it first
        except tf.errors.NotFoundError:
            return False  # removed meanwhile by another process
        _gfile().rmtree(folder)
        return True
    hidden = os.path.join(serving_dir, f"{REMOVING_PREFIX}{version}-{uuid.uuid4().hex[:8]}")
    try:
        _gfile().rename(os.path.join(serving_dir, str(version)), hidden)
    except tf.errors.NotFoundError:
        return False  # removed meanwhile by another process
    _gfile().rmtree(hidden)
    return True
