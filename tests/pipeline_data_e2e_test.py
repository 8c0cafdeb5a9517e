"""The data half end to end on tiny data: generator to DataGate, caching, the anomaly gate."""
import os
import shutil

import pytest

from components.data_gate.component import DataAnomaliesError
from components.sample_generator import span_writer
from modules import config
from pipeline.paths import Paths
from tests import mlmd, spans
from tests.conftest import run_pipeline

DATA_NODES = ("SampleGenerator", "ImportExampleGen", "StatisticsGen", "ImportSchemaGen",
              "ExampleValidator", "DataGate")

pytestmark = pytest.mark.e2e


def test_data_half_runs_every_component_once(data_run):
    executions = mlmd.executions_by_node(data_run.metadata_path)
    assert set(DATA_NODES) <= set(executions)
    for node in DATA_NODES:
        assert mlmd.states(executions[node])[0] == "COMPLETE", node
    span_files = sorted(os.listdir(os.path.join(data_run.data_root, "span-1")))
    assert span_files == [span_writer.MANIFEST, "data-00000-of-00002.tfrecord.gz",
                          "data-00001-of-00002.tfrecord.gz"]
    examples_dir = os.path.join(data_run.pipeline_root, "ImportExampleGen", "examples")
    (execution_dir,) = os.listdir(examples_dir)
    assert sorted(os.listdir(os.path.join(examples_dir, execution_dir))) == [
        "Split-eval", "Split-test", "Split-train"]


def test_rerun_with_unchanged_inputs_reuses_cached_components(data_run):
    run_pipeline(config.profile("tiny"), data_run.root, "data")
    executions = mlmd.executions_by_node(data_run.metadata_path)
    for node in DATA_NODES:
        states = mlmd.states(executions[node])
        assert states[0] == "COMPLETE" and len(states) >= 2, (node, states)
        assert set(states[1:]) == {"CACHED"}, (node, states)


def test_span_with_unknown_character_stops_before_transform(data_run, tmp_path):
    copy = Paths(str(tmp_path / "root"))
    shutil.copytree(data_run.root, copy.root)
    downstream = ("Transform", "Trainer", "Evaluator", "Pusher")
    before = mlmd.executions_by_node(copy.metadata_path)
    span_2 = config.with_overrides(config.profile("tiny"), ["generator.span=2"])
    spans.write_damaged_span(copy.data_root, span_2.generator, spans.rows_with_two_bad())

    with pytest.raises(Exception) as raised:
        run_pipeline(span_2, copy.root, "push")
    error = raised.value
    while error is not None and not isinstance(error, DataAnomaliesError):
        error = error.__cause__ or error.__context__
    assert error is not None, f"expected DataAnomaliesError, got {raised.value!r}"
    message = str(error)
    assert "span 2" in message
    assert "feature 'defs'" in message and "?" in message
    assert "feature 'res'" in message and "/" in message

    executions = mlmd.executions_by_node(copy.metadata_path)
    assert mlmd.states(executions["DataGate"])[-1] == "FAILED"
    for node in downstream:  # other tests may have run them before the copy: none since
        assert len(executions.get(node, [])) == len(before.get(node, [])), node
