"""Spans and pushed versions on a filesystem without atomic folder rename: TF's own ram://
filesystem, where renaming a folder does not even move its files (an object store copies and
deletes them one by one). There the writers write in place and commit with one file written
last; a crash before it leaves nothing a reader takes, and the next write completes."""
import os

import apache_beam as beam
import pytest
import tensorflow as tf

from components.atomic_pusher import serving_dir
from components.sample_generator import span_writer
from modules.config import profile

gfile = tf.io.gfile


class Crash(BaseException):
    """The process dies here: nothing after it runs (BaseException: no handler catches it)."""


@pytest.fixture
def ram_root(request):
    root = f"ram://{request.node.name}"
    yield root
    if gfile.exists(root):
        gfile.rmtree(root)


def _in_memory():
    return beam.Pipeline(argv=["--runner=DirectRunner", "--direct_running_mode=in_memory"])


def test_this_filesystem_cannot_commit_a_folder_by_renaming_it(ram_root):
    gfile.makedirs(f"{ram_root}/staging")
    with gfile.GFile(f"{ram_root}/staging/shard", "w") as shard:
        shard.write("samples")
    gfile.rename(f"{ram_root}/staging", f"{ram_root}/span-1")
    assert not gfile.exists(f"{ram_root}/span-1/shard")


def test_a_span_interrupted_before_its_manifest_is_not_taken_and_is_rewritten(
        ram_root, tmp_path, monkeypatch):
    config = profile("tiny").generator
    data_root = f"{ram_root}/data"

    def crash(folder, manifest):
        raise Crash()
    monkeypatch.setattr(span_writer, "write_manifest", crash)
    with pytest.raises(Crash):
        span_writer.write_span(config, data_root, _in_memory)
    target = span_writer.span_dir(data_root, config.span)
    assert sorted(gfile.listdir(target)) == sorted(
        [span_writer.WRITING] + [span_writer.shard_name(i, config.shards)
                                 for i in range(config.shards)])  # every shard, no manifest
    assert not span_writer.committed(target) and span_writer.interrupted(target)
    assert span_writer.next_span(data_root) == config.span  # not a span yet
    monkeypatch.undo()

    manifest, reused = span_writer.write_span(config, data_root, _in_memory)
    assert not reused and span_writer.committed(target)
    assert span_writer.next_span(data_root) == config.span + 1
    # The same bytes as the local disk's rename-committed span.
    local_manifest, _ = span_writer.write_span(config, str(tmp_path), _in_memory)
    assert manifest == local_manifest
    for name in manifest["files"]:
        with gfile.GFile(os.path.join(target, name), "rb") as written, open(
                os.path.join(span_writer.span_dir(str(tmp_path), config.span), name), "rb") as local:
            assert written.read() == local.read()
    assert sorted(gfile.listdir(data_root)) == [f"span-{config.span}"]  # nothing hidden left
    assert sorted(gfile.listdir(target)) == sorted(manifest["files"] + [span_writer.MANIFEST])


def test_a_span_folder_the_writer_did_not_begin_is_never_deleted(ram_root):
    config = profile("tiny").generator
    data_root = f"{ram_root}/data"
    foreign = span_writer.span_dir(data_root, config.span)
    gfile.makedirs(foreign)
    with gfile.GFile(f"{foreign}/by-hand.tfrecord.gz", "w") as shard:
        shard.write("someone's data")
    with pytest.raises(span_writer.SpanConflictError, match="no manifest"):
        span_writer.write_span(config, data_root, _in_memory)
    assert gfile.exists(f"{foreign}/by-hand.tfrecord.gz")


def _model(folder: str) -> str:
    for name in ("saved_model.pb", "fingerprint.pb", "variables/variables.index",
                 "variables/variables.data-00000-of-00001"):
        gfile.makedirs(os.path.dirname(os.path.join(folder, name)))
        with gfile.GFile(os.path.join(folder, name), "wb") as model_file:
            model_file.write(name.encode() * 100)
    return folder


def test_a_push_interrupted_mid_copy_is_never_a_version(ram_root, monkeypatch):
    serving = f"{ram_root}/serving"
    first = serving_dir.publish(_model(f"{ram_root}/model-a"), serving)
    copy, copied = gfile.copy, []

    def copy_then_crash(source, target, *args, **kwargs):
        if copied:
            raise Crash()
        copied.append(target)
        copy(source, target, *args, **kwargs)
    monkeypatch.setattr(gfile, "copy", copy_then_crash)
    with pytest.raises(Crash):
        serving_dir.publish(_model(f"{ram_root}/model-b"), serving)
    monkeypatch.undo()
    assert not copied[0].endswith("saved_model.pb")  # the commit file comes last
    assert serving_dir.versions(serving) == [first]
    (leftover,) = serving_dir.uncommitted(serving)

    second = serving_dir.publish(_model(f"{ram_root}/model-b"), serving)
    assert serving_dir.versions(serving) == [first, second]
    assert serving_dir.uncommitted(serving) == []
    files = sorted(os.path.relpath(os.path.join(folder, name), f"{serving}/{second}")
                   for folder, _, names in gfile.walk(f"{serving}/{second}") for name in names)
    assert files == ["fingerprint.pb", "saved_model.pb", "variables/variables.data-00000-of-00001",
                     "variables/variables.index"]
    assert serving_dir.withdraw(serving, first)
    assert serving_dir.versions(serving) == [second]
    assert sorted(name.rstrip("/") for name in gfile.listdir(serving)) == [str(second)]


def test_a_version_folder_the_pusher_did_not_begin_is_left_alone(ram_root):
    serving = f"{ram_root}/serving"
    # (Not saved_model.pbtxt: ram:// says a path exists when it is a prefix of another.)
    gfile.makedirs(f"{serving}/5/variables")
    with gfile.GFile(f"{serving}/5/variables/variables.index", "w") as model_file:
        model_file.write("half a model, put there by hand")
    version = serving_dir.publish(_model(f"{ram_root}/model"), serving)
    assert serving_dir.versions(serving) == [version] and serving_dir.uncommitted(serving) == []
    assert gfile.exists(f"{serving}/5/variables/variables.index")
