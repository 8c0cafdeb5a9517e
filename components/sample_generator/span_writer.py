"""Writes one span of generated samples as gzip TFRecord shards, atomically, with Beam.

The manifest is the span's commit: it is written last, after every shard, and a span without
one is not a span yet. On a local disk the span is also written under a hidden name and renamed
into place; on object stores it is written in place (components/object_store.py)."""
import json
import logging
import os
import uuid
from typing import Callable, Dict, List, Tuple

import apache_beam as beam
import tensorflow as tf

from components import object_store
from components.sample_generator import parameters, samples
from modules.config import GeneratorConfig

MANIFEST = "_manifest.json"
SHARD_SUFFIX = ".tfrecord.gz"
# The pattern ImportExampleGen resolves, relative to the data root.
SPAN_PATTERN = "span-{SPAN}/*" + SHARD_SUFFIX
# The name of ImportExampleGen's one input split (the span), which its fingerprint includes.
SPLIT_NAME = "span"
# Hidden folder a span is written into before it is renamed into place.
STAGING_PREFIX = ".span-"
# Where a folder cannot be renamed: marks a span being written in place, until its manifest.
WRITING = "_WRITING"


class SpanConflictError(ValueError):
    """The span directory already holds samples made with other parameters."""


def span_dir(data_root: str, span: int) -> str:
    return os.path.join(data_root, f"span-{span}")


def next_span(data_root: str) -> int:
    """One past the newest committed span under data_root (1 for an empty root)."""
    if not tf.io.gfile.exists(data_root):
        return 1
    spans = [int(name.rstrip("/")[len("span-"):]) for name in tf.io.gfile.listdir(data_root)
             if name.startswith("span-") and name.rstrip("/")[len("span-"):].isdigit()]
    return max((span for span in spans if not interrupted(span_dir(data_root, span))),
               default=0) + 1


def committed(directory: str) -> bool:
    return tf.io.gfile.exists(os.path.join(directory, MANIFEST))


def interrupted(directory: str) -> bool:
    """A span this writer began in place and did not commit: not a span, and rewritten."""
    return tf.io.gfile.exists(os.path.join(directory, WRITING)) and not committed(directory)


def shard_name(index: int, shards: int) -> str:
    return f"data-{index:05d}-of-{shards:05d}{SHARD_SUFFIX}"


def shard_plan(total: int, shards: int) -> List[Tuple[int, int]]:
    """(shard index, sample count) pairs; the first `total % shards` shards take one more."""
    base, extra = divmod(total, shards)
    return [(i, base + (1 if i < extra else 0)) for i in range(shards)]


class _WriteShard(beam.DoFn):
    """Generates and writes one whole shard: one element per shard keeps Beam overhead per shard."""

    def __init__(self, out_dir: str, config: GeneratorConfig):
        self._out_dir = out_dir
        self._config = config
        self._written = beam.metrics.Metrics.counter("sample_generator", "samples_written")

    def process(self, shard: Tuple[int, int]):
        index, count = shard
        path = os.path.join(self._out_dir, shard_name(index, self._config.shards))
        with tf.io.TFRecordWriter(path, options="GZIP") as writer:
            for example in samples.shard_examples(self._config, index, count):
                writer.write(example)
        self._written.inc(count)
        logging.info("wrote shard %d of %d (%d samples)", index + 1, self._config.shards, count)
        yield index


def read_manifest(directory: str) -> Dict:
    path = os.path.join(directory, MANIFEST)
    if not tf.io.gfile.exists(path):
        return {}
    with tf.io.gfile.GFile(path) as f:
        return json.load(f)


def write_span(config: GeneratorConfig, data_root: str,
               make_pipeline: Callable[[], beam.Pipeline]) -> Tuple[Dict, bool]:
    """Writes span `config.span` under data_root; returns (manifest, reused).

    On a local disk, shards go to a hidden staging directory that is renamed into place only
    when every shard is written, so ExampleGen never sees a partial span; on an object store
    they are written in place and the manifest, written last, commits the span (an
    uncommitted one left by an interrupted write is rewritten). An existing span with the same
    parameters is reused as it is (so its files, and downstream caches, stay valid).
    """
    target = span_dir(data_root, config.span)
    wanted = parameters.manifest_record(config)
    in_place = not object_store.renames_atomically(data_root)
    if in_place and interrupted(target):
        logging.info("%s holds an uncommitted span (an interrupted write): rewriting it", target)
        tf.io.gfile.rmtree(target)
    if tf.io.gfile.exists(target):
        existing = parameters.completed_record(read_manifest(target).get("parameters"))
        if existing == wanted:
            logging.info("%s already holds these samples; reusing it", target)
            return read_manifest(target), True
        raise SpanConflictError(
            f"{target} already exists with parameters {existing or 'unknown (no manifest)'}, "
            f"which differ from {wanted}; choose another generator.span or another data root")

    if in_place:
        tf.io.gfile.makedirs(target)
        with tf.io.gfile.GFile(os.path.join(target, WRITING), "w") as marker:
            marker.write("a span being written; its manifest, written last, commits it\n")
        manifest = _write_and_commit(config, target, make_pipeline)
        tf.io.gfile.remove(os.path.join(target, WRITING))
        return manifest, False
    tf.io.gfile.makedirs(data_root)
    staging = os.path.join(data_root, f"{STAGING_PREFIX}{config.span}.staging-{uuid.uuid4().hex[:8]}")
    tf.io.gfile.makedirs(staging)
    try:
        manifest = _write_and_commit(config, staging, make_pipeline)
        tf.io.gfile.rename(staging, target)
    finally:
        if tf.io.gfile.exists(staging):
            tf.io.gfile.rmtree(staging)
    return manifest, False


def _write_and_commit(config: GeneratorConfig, folder: str,
                      make_pipeline: Callable[[], beam.Pipeline]) -> Dict:
    """Every shard, checked, then the manifest."""
    with make_pipeline() as pipeline:
        _ = (pipeline
             | "PlanShards" >> beam.Create(shard_plan(config.samples, config.shards))
             # Spreads the shards over the workers; without it one worker writes them all.
             | "SpreadShards" >> beam.Reshuffle()
             | "WriteShards" >> beam.ParDo(_WriteShard(folder, config)))
    files = sorted(name for name in tf.io.gfile.listdir(folder) if name != WRITING)
    expected = [shard_name(i, config.shards) for i in range(config.shards)]
    if files != expected:
        raise RuntimeError(f"{folder} holds {files}, expected {expected}")
    manifest = {"parameters": parameters.manifest_record(config), "files": files}
    write_manifest(folder, manifest)
    return manifest


def write_manifest(folder: str, manifest: Dict) -> None:
    with tf.io.gfile.GFile(os.path.join(folder, MANIFEST), "w") as f:
        json.dump(manifest, f, indent=1, sort_keys=True)


def fingerprint(data_root: str, span: int) -> str:
    """The fingerprint ImportExampleGen records for this span (its `input_fingerprint`: file
    count, bytes, modification times), so that lineage can link the two artifacts by the files
    themselves: ImportExampleGen reads files, not the generator's artifact."""
    from tfx.utils import io_utils
    return io_utils.generate_fingerprint(
        SPLIT_NAME, os.path.join(span_dir(data_root, span), "*" + SHARD_SUFFIX))
