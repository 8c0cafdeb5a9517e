"""Every command but `run` prints only its own lines: nothing from TensorFlow, absl or Beam (nor
from Beam's worker processes) unless --verbose. (`run` sends those to its log file; the run
tests check its terminal. `predict` is checked where it is tested; `serve` logs its own lines
to stderr.)"""
import json
import os
import subprocess
import sys

import pytest

pytestmark = pytest.mark.e2e


def _cli(*args):
    return subprocess.run([sys.executable, "-m", "pipeline.commands.cli", *args],
                          capture_output=True, text=True, timeout=300)


@pytest.mark.parametrize("command", [["inspect"], ["versions"], ["runs"], ["lineage"],
                                     ["doctor"]])
def test_commands_on_a_pushed_root_print_nothing_but_their_own_lines(push_run, command):
    result = _cli(*command, "--root", push_run.root)
    assert result.stdout.strip(), command
    assert result.stderr == "", (command, result.stderr)


def test_generate_writes_a_span_quietly_and_reuses_it(tmp_path):
    args = ["generate", "--samples", "200", "--shards", "2", "--max-val", "9", "--draw", "digits",
            "--op-weights", "1,1,2", "--ends-share", "0.25", "--out", str(tmp_path),
            "--workers", "2"]
    first = _cli(*args)
    assert first.returncode == 0, first.stdout + first.stderr
    assert first.stderr == "", first.stderr
    span = tmp_path / "span-1"
    assert f"wrote 200 samples to {span} in " in first.stdout, first.stdout
    assert sorted(name for name in os.listdir(span) if name.endswith(".gz")) == [
        "data-00000-of-00002.tfrecord.gz", "data-00001-of-00002.tfrecord.gz"]
    with open(span / "_manifest.json") as f:
        written = json.load(f)["parameters"]
    assert (written["draw"], written["op_weights"], written["ends_share"]) == (
        "digits", [1.0, 1.0, 2.0], 0.25)

    again = _cli(*args, "--span", "1")
    assert again.returncode == 0 and again.stderr == "", again.stdout + again.stderr
    assert f"{span} already holds these samples; nothing written" in again.stdout, again.stdout

    # One worker process is enough to show what the quiet runs leave out.
    verbose = _cli(*args[:-1], "1", "--span", "2", "--verbose")
    assert verbose.returncode == 0, verbose.stdout + verbose.stderr
    assert "apache_beam" in verbose.stderr, verbose.stderr  # what the quiet runs left out
