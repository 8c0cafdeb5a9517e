"""`arith-tfx run` as a user sees it: only its own lines on the terminal; a failed run names the
component, the first cause and the full log."""
import os
import re
import subprocess
import sys

import pytest

from modules import config
from tests import spans

pytestmark = pytest.mark.e2e

OUR_LINES = re.compile(r"(arith-tfx: |  \d\d:\d\d:\d\d |run |  \S)")


def test_a_failed_run_names_the_component_the_cause_and_the_log(tmp_path):
    root = str(tmp_path / "root")
    span_2 = config.with_overrides(config.profile("tiny"), ["generator.span=2"])
    spans.write_damaged_span(os.path.join(root, "data"), span_2.generator,
                             spans.rows_with_two_bad())
    result = subprocess.run(
        [sys.executable, "-m", "pipeline.commands.cli", "run", "--root", root, "--profile", "tiny",
         "--stage", "data", "--set", "generator.span=2",
         "--beam-arg=--direct_running_mode=in_memory"],
        capture_output=True, text=True, timeout=600)
    assert result.returncode == 1, result.stdout + result.stderr
    assert result.stderr == "", result.stderr
    lines = result.stdout.splitlines()
    assert [line for line in lines if not OUR_LINES.match(line)] == [], lines
    assert "DataGate FAILED after" in result.stdout, lines
    (outcome,) = [line for line in lines if line.startswith("run ")]
    assert "(span 2): FAILED: DataGate failed: DataAnomaliesError: data validation failed " \
           "for span 2 (2 anomalies)" in outcome, outcome
    assert "feature 'defs'" in result.stdout and "feature 'res'" in result.stdout
    log = lines[-1].split("full log ", 1)[1]
    with open(log) as f:
        assert "Traceback" in f.read()  # the whole story is in the log, not on the terminal
    assert "Traceback" not in result.stdout


def test_a_continuation_without_a_served_model_stops_before_any_component(tmp_path):
    root = str(tmp_path / "root")
    result = subprocess.run(
        [sys.executable, "-m", "pipeline.commands.cli", "run", "--root", root,
         "--profile", "seed-continue"], capture_output=True, text=True, timeout=600)
    assert result.returncode == 2, result.stdout + result.stderr
    assert result.stdout == "", result.stdout
    assert result.stderr.startswith(
        "arith-tfx run: error: model.require_warm_start: these settings only continue a pushed "
        f"model, and {os.path.join(root, 'serving')} holds none yet; push a model of these "
        "dimensions first (for --profile seed-continue: run --profile seed)"), result.stderr
    assert not os.path.exists(root), os.listdir(root)  # no lock, log, metadata or span
