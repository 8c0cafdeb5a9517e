"""Re-runs on one root, with real runs of a copy of this project: unchanged code and config
reuse every component; an edit re-runs exactly the components whose code (or schema) changed,
and those downstream of their outputs. (tests/factory_test.py shows that each setting reaches
only the components that use it, and that --no-cache turns every cache off.)"""
import os
import shutil
import subprocess
import sys

import pytest

from pipeline.source_version import PROJECT_ROOT
from tests import run_output

pytestmark = pytest.mark.e2e

DATA = ["ImportSchemaGen", "SampleGenerator", "ImportExampleGen", "StatisticsGen",
        "ExampleValidator", "DataGate"]
TRAIN = DATA + ["Transform", "Trainer"]


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    copy = tmp_path_factory.mktemp("project")
    for package in ("cluster", "components", "modules", "pipeline", "schema"):
        shutil.copytree(os.path.join(PROJECT_ROOT, package), copy / package,
                        ignore=shutil.ignore_patterns("__pycache__"))
    return copy


def _env(project):
    return {**os.environ, "PYTHONPATH": str(project)}


def _run(project, root, *args):
    result = subprocess.run(
        [sys.executable, "-m", "pipeline.commands.cli", "run", "--root", str(root),
         "--profile", "tiny", "--beam-arg=--direct_running_mode=in_memory",
         "--set", "model.train_steps=30", *args],
        cwd=project, env=_env(project), capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stderr == "" and "Traceback" not in result.stdout, result.stdout + result.stderr
    return {row["component"]: row["state"] for row in run_output.report(result.stdout)["components"]
            if not row["component"].endswith("_resolver")}


def _edit(path):
    with open(path, "a") as f:
        f.write("\nEDITED_BY_TEST = True\n")


def test_the_copy_is_what_runs(project):
    where = subprocess.run([sys.executable, "-c", "import modules; print(modules.__file__)"],
                           cwd=project, env=_env(project), capture_output=True, text=True)
    assert where.stdout.startswith(str(project)), where.stdout


def test_caches_follow_code_schema_and_config(project, tmp_path):
    root = tmp_path / "root"
    assert set(_run(project, root, "--stage", "train").values()) == {"ran"}
    # The configuration's module is no component's code: its values reach the components as
    # properties. A default that no component of this stage receives, and any other edit of its
    # code, change nothing: the re-run reuses every component.
    settings = project / "modules" / "config.py"
    text = settings.read_text()
    edited = text.replace("min_exact_match: float = 0.8", "min_exact_match: float = 0.85", 1)
    assert edited != text
    settings.write_text(edited + '\nEDITED_BY_TEST = """a string, as a docstring would be"""\n')
    assert _run(project, root, "--stage", "train") == dict.fromkeys(TRAIN, "cached")

    # DataGate's code and the Trainer's: Transform runs after DataGate but does not read its
    # output, so it stays cached.
    _edit(project / "modules" / "trainer.py")
    _edit(project / "components" / "data_gate" / "anomalies.py")
    assert _run(project, root, "--stage", "train") == {
        **dict.fromkeys(DATA + ["Transform"], "cached"), "DataGate": "ran", "Trainer": "ran"}

    # Transform's module is also the Trainer's (it imports it), and the Trainer reads its output.
    _edit(project / "modules" / "transform.py")
    assert _run(project, root, "--stage", "train") == {
        **dict.fromkeys(DATA, "cached"), "Transform": "ran", "Trainer": "ran"}

    schema = project / "schema" / "schema.pbtxt"
    schema.write_text("# edited by a test\n" + schema.read_text())
    assert _run(project, root, "--stage", "data") == {
        **dict.fromkeys(DATA, "cached"), "ImportSchemaGen": "ran", "ExampleValidator": "ran",
        "DataGate": "ran"}
