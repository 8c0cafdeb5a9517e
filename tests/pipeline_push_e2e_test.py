"""The whole pipeline, generator to Pusher, on tiny data: a push, a refused push under an
impossible floor, a refused push of a model worse than the pushed one; then predict and
lineage on what was pushed."""
import dataclasses
import os
import subprocess
import sys

import pytest

from pipeline.paths import serving_versions
from pipeline import config, push_report
from tests import mlmd
from tests.conftest import run_pipeline

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def push_run(train_run):
    """First full run: nothing blessed yet, so the thresholds alone decide."""
    run_pipeline(config.profile("tiny"), train_run.root, "push")
    return train_run


def _cli(*args, stdin=""):
    return subprocess.run([sys.executable, "-m", "pipeline.cli", *args], input=stdin,
                          capture_output=True, text=True, timeout=300)


def test_a_validated_model_is_pushed_atomically(push_run):
    (version,) = serving_versions(push_run.serving_dir)
    pushed = os.path.join(push_run.serving_dir, str(version))
    assert os.path.exists(os.path.join(pushed, "saved_model.pb"))
    assert [name for name in os.listdir(push_run.serving_dir) if name.startswith(".")] == []
    report = push_report.explain(push_run.root)
    assert report.startswith(f"model pushed as version {version}"), report
    assert "trained from scratch: no pushed model to start from" in report, report
    executions = mlmd.executions_by_node(push_run.metadata_path)
    for node in ("Evaluator", "ServingCheck", "Pusher"):
        assert mlmd.states(executions[node])[-1] == "COMPLETE", node


def test_predict_answers_good_lines_and_names_bad_ones(push_run):
    lines = "x=3,y=-4:x*y\nx=3,y=?:x*y\nx=3:x*y\nx=3,y=4\n\ny=2,x=5:y-x:-3\n"
    result = _cli("predict", "--root", push_run.root, stdin=lines)
    out = result.stdout.splitlines()
    assert result.returncode == 1, result.stderr
    assert len(out) == 5, out
    assert out[0].startswith("x=3,y=-4:x*y  ")
    assert "(confidence " in out[0] or "the model gave no integer" in out[0], out[0]
    assert "unknown character" in out[1]
    assert "defs must define x and y" in out[2]
    assert "expected defs:op" in out[3]
    assert out[4].startswith("y=2,x=5:y-x:-3  ")
    assert "Traceback" not in result.stderr


def test_lineage_names_the_span_and_seed(push_run):
    result = _cli("lineage", "--root", push_run.root)
    assert result.returncode == 0, result.stderr
    generator = config.profile("tiny").generator
    text = result.stdout
    for step in ("pushed model", "model", "transform graph", "schema", "statistics",
                 "examples", "samples"):
        assert f"{step}  " in text, (step, text)
    assert f"span {generator.span} at" in text
    assert f"seed {generator.seed}, {generator.samples} samples" in text


def test_impossible_floor_pushes_nothing_and_says_why(push_run):
    before = serving_versions(push_run.serving_dir)
    strict = config.with_overrides(config.profile("tiny"), ["eval.min_exact_match=1.0"])
    run_pipeline(strict, push_run.root, "push")
    assert serving_versions(push_run.serving_dir) == before
    report = push_report.explain(push_run.root)
    assert report.startswith("model NOT pushed"), report
    assert "exact_match" in report and "floor" in report, report
    # Continuous training: this run's Trainer started from the model pushed before.
    assert "warm-started from the last pushed model" in report, report


def test_a_model_worse_than_the_pushed_one_is_not_blessed(push_run):
    before = serving_versions(push_run.serving_dir)
    tiny = config.profile("tiny")
    # Other dimensions: no warm start possible, so one step from scratch.
    worse = dataclasses.replace(tiny, model=dataclasses.replace(
        tiny.model, train_steps=1, warmup_steps=0, dim_hidden=8))
    run_pipeline(worse, push_run.root, "push")
    assert serving_versions(push_run.serving_dir) == before
    report = push_report.explain(push_run.root)
    assert "change vs. the last pushed model" in report, report
    assert "trained from scratch: the last pushed model's dimensions differ " \
           "(dim_hidden 16 -> 8)" in report, report
