"""Real runs killed with SIGKILL (their whole process group) during the generator, Transform, the
Trainer and the Pusher, then the same command again: it completes, nothing partial is ever
visible, the leftovers are cleaned up, and the Trainer resumes from its checkpoint. A second
run on a root in use is refused at once, naming the holder."""
import glob
import json
import os
import re
import signal
import subprocess
import sys
import time

import pytest

from components.atomic_pusher.serving_dir import versions as serving_versions
from components.sample_generator.span_writer import MANIFEST
from modules import config, features
from pipeline.reports import quality
from pipeline.state import run_lock
from tests import mlmd, run_output

pytestmark = pytest.mark.e2e

TRAIN_STEPS = 400  # ten epochs of 40 steps: a checkpoint every half second or so


def _command(root):
    # In memory: on tiny data, starting Beam's worker processes would be most of the time.
    return [sys.executable, "-m", "pipeline.commands.cli", "run", "--root", str(root),
            "--profile", "tiny", "--beam-arg=--direct_running_mode=in_memory",
            "--set", f"model.train_steps={TRAIN_STEPS}"]


class Run:
    """A run in its own process group, its terminal lines collected as they come."""

    def __init__(self, root):
        self.process = subprocess.Popen(_command(root), stdout=subprocess.PIPE,
                                        stderr=subprocess.DEVNULL, text=True,
                                        start_new_session=True)
        self.lines = []

    def wait_for_line(self, text, timeout=300):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            line = self.process.stdout.readline()
            if not line:
                break
            self.lines.append(line.rstrip())
            if text in line:
                return
        raise AssertionError(f"no line with {text!r}; got:\n" + "\n".join(self.lines))

    def kill(self):
        os.killpg(self.process.pid, signal.SIGKILL)
        self.lines += self.process.stdout.read().splitlines()
        self.process.wait()


def _wait_for(pattern, run, timeout=300):
    """Polls (often: a tiny span is written in about a second) until `pattern` matches, failing
    at once if the run ends first."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and run.process.poll() is None:
        if glob.glob(pattern):
            return
        time.sleep(0.01)
    raise AssertionError(f"nothing matched {pattern} while the run ran")


def _assert_nothing_partial_is_visible(root):
    span = os.path.join(root, "data", "span-1")
    assert not os.path.exists(span) or os.path.exists(os.path.join(span, MANIFEST))
    for version in serving_versions(os.path.join(root, "serving")):
        assert os.path.exists(os.path.join(root, "serving", str(version), "saved_model.pb"))


def test_killed_runs_resume_and_a_second_run_is_refused(tmp_path):
    root = str(tmp_path / "root")
    first = Run(root)
    first.wait_for_line("SampleGenerator started")
    second = subprocess.run(_command(root), capture_output=True, text=True, timeout=120)
    assert second.returncode == 1, second.stdout + second.stderr
    assert f"in use by another run (pid {first.process.pid}" in second.stderr, second.stderr
    assert "started 20" in second.stderr and "Traceback" not in second.stderr, second.stderr
    _wait_for(os.path.join(root, "data", ".span-1.staging-*"), first)  # writing the span
    first.kill()
    _assert_nothing_partial_is_visible(root)

    during_transform = Run(root)
    during_transform.wait_for_line("Transform started")
    started = time.monotonic()
    runs = subprocess.run([sys.executable, "-m", "pipeline.commands.cli", "runs", "--root", root],
                          capture_output=True, text=True, timeout=120)
    assert f"running now (pid {during_transform.process.pid})" in runs.stdout, \
        runs.stdout + runs.stderr
    time.sleep(max(0.0, 3 - (time.monotonic() - started)))
    during_transform.kill()
    assert any("took over the lock" in line and f"pid {first.process.pid}" in line
               for line in during_transform.lines), during_transform.lines
    assert any("removed" in line and ".span-1.staging-" in line
               for line in during_transform.lines), during_transform.lines
    _assert_nothing_partial_is_visible(root)

    during_training = Run(root)
    _wait_for(os.path.join(root, "pipeline", "Trainer", "checkpoints", "*", "checkpoint"),
              during_training)
    during_training.kill()

    # The Pusher's copy takes milliseconds: this kill lands anywhere in the Pusher's launch.
    # tests/atomic_push_test.py crashes a push mid-copy deterministically.
    during_push = Run(root)
    during_push.wait_for_line("Pusher started")
    time.sleep(0.2)
    during_push.kill()
    resumed = [line for line in during_push.lines if "Trainer: resumed at step" in line]
    assert resumed and f"of {TRAIN_STEPS}" in resumed[0], during_push.lines
    assert any(re.search(rf"Trainer: step {TRAIN_STEPS}/{TRAIN_STEPS} \(100%\), [\d,]+ "
                         r"examples/s, about 0 s left", line)
               for line in during_push.lines), during_push.lines
    _assert_nothing_partial_is_visible(root)

    last = subprocess.run(_command(root), capture_output=True, text=True, timeout=600)
    assert last.returncode == 0, last.stdout + last.stderr
    outcome = next(line for line in last.stdout.splitlines() if line.startswith("run "))
    assert "pushed version" in outcome or "already served" in outcome, last.stdout
    assert "Traceback" not in last.stdout + last.stderr
    _assert_the_report_is_complete(last.stdout)

    hidden = [name for folder in ("data", "serving")
              for name in os.listdir(os.path.join(root, folder)) if name.startswith(".")]
    assert hidden == [], hidden
    assert glob.glob(os.path.join(root, "pipeline", "Trainer", "checkpoints", "*")) == []
    states = [state for executions in mlmd.executions_by_node(
        os.path.join(root, "metadata.sqlite")).values() for state in mlmd.states(executions)]
    assert "RUNNING" not in states and "NEW" not in states
    assert states.count("CANCELED") >= 3, states
    starts = glob.glob(os.path.join(root, "pipeline", "Trainer", "model_run", "*", "start.json"))
    resumed_at = [json.load(open(path))["resumed_at_step"] for path in starts]
    assert any(0 < step < TRAIN_STEPS for step in resumed_at), resumed_at

    runs = subprocess.run([sys.executable, "-m", "pipeline.commands.cli", "runs", "--root", root],
                          capture_output=True, text=True, timeout=120)
    assert runs.stdout.count("interrupted in") >= 3, runs.stdout

    # Nothing changed since: nothing new is pushed, and the run says so.
    versions = serving_versions(os.path.join(root, "serving"))
    again = subprocess.run(_command(root), capture_output=True, text=True, timeout=600)
    assert again.returncode == 0 and again.stderr == "", again.stdout + again.stderr
    outcome = next(line for line in again.stdout.splitlines() if line.startswith("run "))
    assert ": nothing new to push: " in outcome and "already served as version " \
        f"{versions[-1]}" in outcome, again.stdout
    assert serving_versions(os.path.join(root, "serving")) == versions
    report = run_output.report(again.stdout)
    assert not report["push"]["pushed"] and report["push"]["already_served"], report["push"]
    # The Evaluator and the Pusher may run again: the model an earlier run pushed is now their
    # baseline and the served version. What made the model is reused.
    states = {row["component"]: row["state"] for row in report["components"]}
    assert [states[name] for name in _COMPONENTS[:8]] == ["cached"] * 8, report["components"]

    # ... and once that is done, a third unchanged run reuses every component, and says so.
    third = subprocess.run(_command(root), capture_output=True, text=True, timeout=600)
    assert third.returncode == 0 and third.stderr == "", third.stdout + third.stderr
    report = run_output.report(third.stdout)
    assert {row["component"]: row["state"] for row in report["components"]
            if not row["component"].endswith("_resolver")} == dict.fromkeys(
                _COMPONENTS, "cached"), report["components"]
    outcome = next(line for line in third.stdout.splitlines() if line.startswith("run "))
    assert ": nothing new to push: " in outcome and "already served as version " \
        f"{versions[-1]}" in outcome, third.stdout
    assert serving_versions(os.path.join(root, "serving")) == versions

    # A lock held by no run of the pipeline (here, this test) marks no past run as running.
    with run_lock.hold(root) as lock:
        lock.add(run_id="not-a-pipeline-run")
        runs = subprocess.run([sys.executable, "-m", "pipeline.commands.cli", "runs", "--root",
                               root], capture_output=True, text=True, timeout=120)
    assert runs.returncode == 0 and "running now" not in runs.stdout, runs.stdout + runs.stderr


_COMPONENTS = ["ImportSchemaGen", "SampleGenerator", "ImportExampleGen", "StatisticsGen",
               "ExampleValidator", "DataGate", "Transform", "Trainer", "Evaluator",
               "ServingCheck", "Pusher"]


def _assert_the_report_is_complete(stdout):
    """The table at the end of a run and its JSON: every component ran or cached with its
    seconds, the examples per split, exact match per operation against the floor, the loss."""
    report = run_output.report(stdout)
    tiny = config.profile("tiny")
    rows = [row for row in report["components"] if not row["component"].endswith("_resolver")]
    assert [row["component"] for row in rows] == _COMPONENTS, rows
    lines = stdout.splitlines()
    for row in rows:
        assert row["state"] in ("ran", "cached") and row["seconds"] >= 0, row
        assert f"  {row['component']:<30} {row['state']:<7} {row['seconds']:8.1f}" in lines
    assert list(report["examples"]) == ["train", "eval", "test"]
    assert sum(report["examples"].values()) == tiny.generator.samples, report["examples"]
    assert "  examples: " + ", ".join(f"{split} {count:,}" for split, count in
                                      report["examples"].items()) in lines, stdout
    shares = report["exact_match"]
    assert set(shares["model"]) == {quality.OVERALL, *features.OPERATORS}, shares
    assert shares["floor"] == tiny.eval.min_exact_match, shares
    assert any(line.startswith("    this model ") and line.count("%") == 4 for line in lines)
    assert any(line.startswith("    floor ") for line in lines), stdout
    assert 0 < report["loss"]["model"] <= tiny.eval.max_loss, report["loss"]
    # Exact match per operation and digit count of the longer operand (one digit: tiny).
    by_digits = report["exact_match_by_digits"]
    assert list(by_digits) == list(features.OPERATORS) and all(
        list(row) == ["1"] and 0 <= row["1"] <= 1 for row in by_digits.values()), by_digits
    table = lines.index("  exact match by digits of the longer operand")
    assert lines[table + 1].split() == ["op", "1"], lines[table + 1]
    assert [line.split()[0] for line in lines[table + 2:table + 5]] == list(features.OPERATORS)
    assert f"  loss per token   {report['loss']['model']:.3f}  (ceiling " \
           f"{tiny.eval.max_loss:g})" in lines, stdout
