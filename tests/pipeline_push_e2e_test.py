"""The whole pipeline, generator to Pusher, on tiny data: a push, a refused push under an
impossible floor; then predict, lineage, rollback and retention on what was pushed. The refused
push of a model worse than the served one: tests/drop_gate_e2e_test.py."""
import os
import re
import subprocess
import sys

import pytest

from components.atomic_pusher.serving_dir import versions as serving_versions
from modules import config, metrics, serving_contract
from pipeline.reports import push_report, quality
from pipeline.state.metadata import Store, value
from tests import mlmd
from tests.conftest import run_pipeline

pytestmark = pytest.mark.e2e


def _cli(*args, stdin=""):
    return subprocess.run([sys.executable, "-m", "pipeline.commands.cli", *args], input=stdin,
                          capture_output=True, text=True, timeout=300)


def test_a_validated_model_is_pushed_atomically(push_run):
    (version,) = serving_versions(push_run.serving_dir)
    pushed = os.path.join(push_run.serving_dir, str(version))
    assert os.path.exists(os.path.join(pushed, "saved_model.pb"))
    assert [name for name in os.listdir(push_run.serving_dir) if name.startswith(".")] == []
    report = push_report.explain(push_run.root)
    assert report.startswith(f"model pushed as version {version}"), report
    # The push passed a quality gate that an untrained model fails (tests/drop_gate_e2e_test.py):
    # the loss under the tiny profile's ceiling.
    store = Store(push_run.metadata_path)
    (blessing,) = store.inputs(store.producer(store.artifacts("PushedModel")[0]))["model_blessing"]
    evaluation = store.outputs(store.producer(blessing))["evaluation"][0]
    loss = quality.measured(evaluation.uri, metrics.LOSS)[quality.OVERALL]
    assert 0 < loss <= config.profile("tiny").eval.max_loss, loss
    assert "trained from scratch: no pushed model to start from" in report, report
    executions = mlmd.executions_by_node(push_run.metadata_path)
    for node in ("Evaluator", "ServingCheck", "Pusher"):
        assert mlmd.states(executions[node])[-1] == "COMPLETE", node


def _answers_of_the_pushed_model(push_run, expressions):
    """What the pushed SavedModel itself answers, through its serving signature."""
    import tensorflow as tf
    version = serving_versions(push_run.serving_dir)[-1]
    model = tf.saved_model.load(os.path.join(push_run.serving_dir, str(version)))
    requests = [serving_contract.request(*expression.split(":")[:2])
                for expression in expressions]
    out = model.signatures[serving_contract.SIGNATURE](examples=tf.constant(requests))
    return [(res.decode(), error.decode())
            for res, error in zip(out["res"].numpy(), out["error"].numpy())]


def test_predict_answers_good_lines_and_names_bad_ones(push_run):
    lines = "x=3,y=-4:x*y\nx=3,y=?:x*y\nx=3:x*y\nx=3,y=4\n\ny=2,x=5:y-x:-3\n"
    result = _cli("predict", "--root", push_run.root, stdin=lines)
    out = result.stdout.splitlines()
    assert result.returncode == 1, result.stderr
    assert len(out) == 5, out
    (first, first_error), (last, last_error) = _answers_of_the_pushed_model(
        push_run, ["x=3,y=-4:x*y", "y=2,x=5:y-x"])
    # The tiny model is mostly wrong; predict must print exactly what it answers.
    if first_error:
        assert out[0] == f"x=3,y=-4:x*y  error: {first_error}", out[0]
    else:
        assert out[0].startswith(f"x=3,y=-4:x*y  = {first}  (confidence "), out[0]
    assert "unknown character" in out[1]
    assert "defs must define x and y" in out[2]
    assert "expected defs:op" in out[3]
    if last_error:
        assert out[4] == f"y=2,x=5:y-x:-3  error: {last_error}", out[4]
    else:
        verdict = "correct" if last == "-3" else "wrong, expected -3"
        assert out[4].startswith(f"y=2,x=5:y-x:-3  = {last}  (confidence ") and \
            out[4].endswith(verdict), (out[4], last)
    # Nothing from TensorFlow or absl: only the version that answered.
    version = serving_versions(push_run.serving_dir)[-1]
    assert result.stderr.splitlines() == [f"(model version {version})"], result.stderr


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
    # Same span, code and training settings: the Trainer was reused, not trained again on the
    # data the pushed model has seen.
    assert mlmd.states(mlmd.executions_by_node(push_run.metadata_path)["Trainer"])[-1] == \
        "CACHED"


def test_predict_refuses_a_version_that_is_no_number_and_undecodable_lines(push_run):
    result = _cli("predict", "--root", push_run.root, "--version", "abc", "x=1,y=2:x+y")
    assert result.returncode == 1
    assert "--version must be a version number, got 'abc'" in result.stderr
    assert "Traceback" not in result.stderr
    raw = subprocess.run([sys.executable, "-m", "pipeline.commands.cli", "predict", "--root",
                          push_run.root], input=b"x=1,y=\xff:x+y\nx=1,y=2:x+y\n",
                         capture_output=True, timeout=300)
    out = raw.stdout.decode().splitlines()
    assert "Traceback" not in raw.stderr.decode()
    assert len(out) == 2 and out[0].endswith("error: not UTF-8 text"), out
    assert out[1].startswith("x=1,y=2:x+y  ") and "error: not UTF-8" not in out[1], out
    # Answers and the closing version line, merged into one stream, each on a line of its own.
    merged = subprocess.run([sys.executable, "-m", "pipeline.commands.cli", "predict", "--root",
                             push_run.root, "x=1,y=2:x+y", "x=9,y=9:x*y"],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            timeout=300).stdout.splitlines()
    version = serving_versions(push_run.serving_dir)[-1]
    assert merged[-3].startswith("x=1,y=2:x+y  ") and merged[-2].startswith("x=9,y=9:x*y  ")
    assert merged[-1] == f"(model version {version})", merged


def test_a_continuation_of_a_model_of_other_dimensions_stops_before_any_component(push_run):
    before = sorted(os.listdir(push_run.root)), sorted(os.listdir(push_run.data_root))
    result = _cli("run", "--root", push_run.root, "--profile", "seed-continue")
    assert result.returncode == 2, result.stdout + result.stderr
    assert result.stdout == "", result.stdout
    # The served tiny model against the seed range's widths: refused before the data stage,
    # which the Trainer's own check (tests/warm_start_test.py) would come only after.
    assert result.stderr.startswith(
        "arith-tfx run: error: model.require_warm_start: these settings only continue a pushed "
        "model, and the last pushed model's dimensions differ ("), result.stderr
    assert "width_enc 24 -> 22" in result.stderr, result.stderr
    assert (sorted(os.listdir(push_run.root)), sorted(os.listdir(push_run.data_root))) == before


def _start_of_latest_run(where) -> str:
    """How the model of the newest push (pushed or not) began training."""
    store = Store(where.metadata_path)
    push = store.artifacts("PushedModel")[0]
    return push_report.training_start(store, store.inputs(store.producer(push))["model"][0])


def test_rollback_serves_an_earlier_model_and_the_next_run_starts_from_it(push_run):
    tiny = config.profile("tiny")
    # The served version: the session's first, or one an earlier test of this module pushed.
    first = serving_versions(push_run.serving_dir)[-1]
    first_model = _latest_model_of_version(push_run, first)
    # A second pushed version, of another model (one more step: the same config is cached),
    # whatever its loss against the served one: the gates are another test's subject.
    run_pipeline(config.with_overrides(
        tiny, ["model.train_steps=302", "eval.max_loss_increase=100"]), push_run.root, "push")
    second = serving_versions(push_run.serving_dir)[-1]
    assert second != first and _latest_model_of_version(push_run, second).id != first_model.id

    result = _cli("rollback", "--root", push_run.root)
    assert result.returncode == 0, result.stderr
    third = serving_versions(push_run.serving_dir)[-1]
    assert f"version {first} is served again, as version {third}" in result.stdout
    for name in ("saved_model.pb", os.path.join("variables", "variables.index")):
        with open(os.path.join(push_run.serving_dir, str(first), name), "rb") as a, \
                open(os.path.join(push_run.serving_dir, str(third), name), "rb") as b:
            assert a.read() == b.read(), name
    assert _latest_model_of_version(push_run, third).id == first_model.id

    listing = _cli("versions", "--root", push_run.root)
    assert listing.returncode == 0, listing.stderr
    table, digits = listing.stdout.split("\n\n")
    rows = {line.split()[0]: line for line in table.splitlines()[1:]}
    assert list(rows)[-3:] == [str(first), str(second), str(third)], listing.stdout
    earlier = len(rows) - 3
    # Then exact match by operation and digit count: a row per operation of each version, the
    # rollback's those of the model it republished.
    digit_lines = digits.splitlines()
    assert digit_lines[0] == "exact match by operation and digits of the longer operand " \
                             "(test split)" and digit_lines[1].split() == ["op", "1"], digits
    blocks = {}
    for index, version in enumerate((first, second, third)):
        block = digit_lines[2 + 3 * (earlier + index):5 + 3 * (earlier + index)]
        assert block[0].split()[:2] == [str(version), "+"], digits
        assert [line.split()[0] for line in block[1:]] == ["-", "*"], digits
        blocks[version] = [line.split()[-1] for line in block]
        assert all(share.endswith("%") for share in blocks[version]), digits
    assert len(digit_lines) == 2 + 3 * len(rows) and blocks[third] == blocks[first], digits
    assert rows[str(third)].endswith(f"(rollback to {first}, served)"), listing.stdout
    # Quality, span and seed of the model it republished.
    assert "%" in rows[str(first)], listing.stdout
    assert rows[str(third)].split()[3:12] == rows[str(first)].split()[3:12], listing.stdout
    assert f" {tiny.generator.span} " in rows[str(first)] and \
        f" {tiny.generator.seed}" in rows[str(first)], listing.stdout

    # The next run, on the next span, warm-starts from (and compares against) the model served
    # again; as a continuation, which may not train from scratch, it does not fail.
    # (A short training: only where it starts from matters here.)
    run_pipeline(config.with_overrides(tiny, ["generator.span=2", "model.train_steps=30",
                                              "model.require_warm_start=true"]),
                 push_run.root, "push")
    assert f"({first_model.uri}/" in _start_of_latest_run(push_run), \
        _start_of_latest_run(push_run)

    kept = _cli("versions", "--root", push_run.root, "--keep", "2")
    assert kept.returncode == 0, kept.stderr
    remaining = serving_versions(push_run.serving_dir)
    assert len(remaining) == 2 and remaining[-1] >= third and first not in remaining
    assert re.match(r"removed versions? \d+", kept.stdout), kept.stdout


def _latest_model_of_version(where, version):
    store = Store(where.metadata_path)
    push = next(a for a in store.artifacts("PushedModel")
                if value(a, "pushed_version") == str(version))
    return store.inputs(store.producer(push))["model"][0]
