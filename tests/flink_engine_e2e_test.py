"""The tiny pipeline on a real Flink cluster (JobManager, TaskManager, Beam's job server and an SDK
worker pool, each its own process, started by `arith-tfx cluster up`), through `arith-tfx run
--runner flink`: Flink's own job list shows every Beam step finished, and the results equal the
DirectRunner's (conftest's runs of the same profile): byte-identical span files, the same examples
and transformed examples, the same statistics."""
import glob
import math
import os
import subprocess
import sys

import pytest

from cluster import flink_cluster, processes
from cluster.config import ClusterConfig
from tests.conftest import latest_output

pytestmark = pytest.mark.e2e

BEAM_COMPONENTS = ("SampleGenerator", "ImportExampleGen", "StatisticsGen", "Transform", "Evaluator")
SPLITS = ("train", "eval", "test")


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "pipeline.commands.cli", *args],
                          capture_output=True, text=True, timeout=800)


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    rest, rpc, job, artifact, pool = processes.free_ports(5)
    state_dir = str(tmp_path_factory.mktemp("flink"))
    # SDK workers as threads of the pool's process: TensorFlow is imported once, not per job.
    config = ClusterConfig(state_dir=state_dir, rest_port=rest, rpc_port=rpc, job_port=job,
                           artifact_port=artifact, worker_pool_port=pool, sdk_workers="thread")
    flink_cluster.up(config, log=lambda line: None)
    try:
        yield config
    finally:
        records = processes.recorded(state_dir)
        flink_cluster.down(config, log=lambda line: None)
        assert not any(processes.alive(record) for record in records.values())


@pytest.fixture(scope="module")
def flink_run(cluster, tmp_path_factory):
    root = str(tmp_path_factory.mktemp("flink_root"))
    # One training step: the Evaluator needs a model, its quality does not matter here.
    done = _cli("run", "--profile", "tiny", "--root", root, "--set", "model.train_steps=1",
                "--runner", "flink", "--job-endpoint", cluster.job_endpoint,
                "--worker-pool", cluster.worker_pool)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return root


def test_status_shows_the_engines_own_view(cluster):
    lines = []
    assert flink_cluster.status(cluster.state_dir, log=lines.append)
    text = "\n".join(lines)
    assert "Flink 1.19.0" in text and "1 task manager(s)" in text, text
    for name in ("jobmanager", "taskmanager-1", "jobserver", "workerpool"):
        assert f"{name}" in text and "NOT RUNNING" not in text, text


def test_every_beam_step_ran_as_a_finished_flink_job(cluster, flink_run):
    jobs = flink_cluster.jobs(cluster)
    expected = {f"arith-tfx-{component.lower()}" for component in BEAM_COMPONENTS}
    assert {job["name"] for job in jobs} == expected, jobs
    assert all(job["state"] == "FINISHED" for job in jobs), jobs
    assert all(job["tasks"]["finished"] == job["tasks"]["total"] > 0 for job in jobs), jobs


def test_the_span_files_are_byte_identical(train_run, flink_run):
    def span_files(root):
        span = os.path.join(root, "data", "span-1")
        return {name: open(os.path.join(span, name), "rb").read()
                for name in sorted(os.listdir(span))}
    direct, flink = span_files(train_run.root), span_files(flink_run)
    assert len(direct) >= 3 and direct == flink  # shards and the manifest


def test_examples_and_transformed_examples_are_the_same(train_run, flink_run):
    for component, output in (("ImportExampleGen", "examples"),
                              ("Transform", "transformed_examples")):
        for split in SPLITS:
            direct = _records(train_run.root, component, output, split)
            flink = _records(flink_run, component, output, split)
            assert direct and direct == flink, (component, split, len(direct), len(flink))


def test_statistics_are_equal(train_run, flink_run):
    for split in SPLITS:
        direct, flink = (_statistics(root, split) for root in (train_run.root, flink_run))
        assert direct.keys() == flink.keys() and len(direct) > 20, split
        for key, value in direct.items():
            assert value == flink[key] if isinstance(value, str) else math.isclose(
                value, flink[key], rel_tol=1e-12, abs_tol=1e-12), (split, key, value, flink[key])


def _records(root: str, component: str, output: str, split: str):
    """Each example in a canonical serialization, sorted: the same examples in any file order
    and with any map order in the protos."""
    import tensorflow as tf
    folder = os.path.join(latest_output(_paths(root), component, output), f"Split-{split}")
    return sorted(tf.train.Example.FromString(record.numpy()).SerializeToString(deterministic=True)
                  for path in sorted(glob.glob(os.path.join(folder, "*")))
                  for record in tf.data.TFRecordDataset(path, compression_type="GZIP"))


def _statistics(root: str, split: str):
    """{(feature path, field path): value} of every scalar in a split's statistics: features
    come in no fixed order, and a float may differ in its last bit by the order of a sum."""
    from google.protobuf import json_format
    from tensorflow_metadata.proto.v0 import statistics_pb2
    path = os.path.join(latest_output(_paths(root), "StatisticsGen", "statistics"),
                        f"Split-{split}", "FeatureStats.pb")
    with open(path, "rb") as stats_file:
        stats = statistics_pb2.DatasetFeatureStatisticsList.FromString(stats_file.read())
    flat = {}
    for dataset in stats.datasets:
        flat[("num_examples",)] = float(dataset.num_examples)
        for feature in dataset.features:
            _flatten(json_format.MessageToDict(feature), (tuple(feature.path.step),), flat)
    return flat


def _flatten(value, key, flat) -> None:
    if isinstance(value, dict):
        for name, item in value.items():
            _flatten(item, key + (name,), flat)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _flatten(item, key + (index,), flat)
    else:
        flat[key] = float(value) if isinstance(value, (int, float)) and not isinstance(
            value, bool) else str(value)


def _paths(root: str):
    from pipeline.paths import Paths
    return Paths(root)
