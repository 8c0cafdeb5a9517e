"""Shared fixtures: real pipeline runs on tiny data, made once per test session."""
import dataclasses
import os

import pytest

from modules import config
from pipeline import beam_args, factory, paths

# Markers: `e2e` tests run real TFX pipelines (tens of seconds each); unit tests are fast.
# Beam's DirectRunner in memory: on tiny data, starting worker processes is most of the time
# (tests/interrupted_run_e2e_test.py runs the laptop default, with worker processes).
E2E_BEAM_ARGS = ["--runner=DirectRunner", "--direct_running_mode=in_memory"] + (
    beam_args.ship_project())


# The session's tiny runs below are made once per test process. With pytest-xdist (make test
# runs two workers) every module that uses one of them goes to the same worker, and every other
# module to one worker of its own choosing, so that no run or module fixture is made twice.
SHARED_RUNS = ("data_run", "train_run", "push_run")


@pytest.hookimpl(tryfirst=True)  # before xdist reads the groups
def pytest_collection_modifyitems(items):
    modules_with_runs = {item.module.__name__ for item in items
                         if set(SHARED_RUNS) & set(getattr(item, "fixturenames", ()))}
    for item in items:
        module = item.module.__name__
        item.add_marker(pytest.mark.xdist_group(
            "tiny_runs" if module in modules_with_runs else module))


@pytest.hookimpl(optionalhook=True)  # defined by xdist; pytest alone runs without it
def pytest_xdist_node_collection_finished(node, ids):
    """Under `--dist loadgroup`, xdist has suffixed every test's id with its group. A pytest that
    ignores the suffix (pytest 9 with xdist 3.8) would spread each group, and make the session's
    tiny runs, on both workers: refuse that before a test runs."""
    if node.config.getoption("dist") == "loadgroup" and any("@" not in id_ for id_ in ids):
        raise pytest.UsageError(
            f"pytest-xdist did not group the tests (pytest {pytest.__version__}): install the "
            "pins of constraints.txt (make test does)")


def run_pipeline(cfg: config.PipelineConfig, root: str, stage: str) -> paths.Paths:
    from tfx.orchestration.local.local_dag_runner import LocalDagRunner
    where = paths.Paths(root)
    LocalDagRunner().run(
        factory.create_pipeline(cfg, where, E2E_BEAM_ARGS, stage=stage))
    return where


@pytest.fixture(scope="session")
def data_run(tmp_path_factory) -> paths.Paths:
    """The data half of the tiny profile, run once: generator to DataGate."""
    return run_pipeline(config.profile("tiny"), str(tmp_path_factory.mktemp("data_run")), "data")


@dataclasses.dataclass(frozen=True)
class TrainRun(paths.Paths):
    """A run's paths plus the Trainer outputs of that run (later runs add newer ones)."""
    model_dir: str = ""  # the SavedModel
    run_dir: str = ""    # TensorBoard logs


@pytest.fixture(scope="session")
def train_run(data_run) -> TrainRun:
    """Transform and Trainer of the tiny profile, on top of the data half (which is cached)."""
    where = run_pipeline(config.profile("tiny"), data_run.root, "train")
    return TrainRun(where.root,
                    model_dir=os.path.join(latest_output(where, "Trainer", "model"),
                                           "Format-Serving"),
                    run_dir=latest_output(where, "Trainer", "model_run"))


@pytest.fixture(scope="session")
def push_run(train_run) -> TrainRun:
    """The whole tiny pipeline, once: nothing pushed yet, so the thresholds alone decide."""
    run_pipeline(config.profile("tiny"), train_run.root, "push")
    return train_run


def latest_output(where: paths.Paths, component: str, output: str) -> str:
    """The newest artifact folder a component wrote for one of its outputs."""
    folder = os.path.join(where.pipeline_root, component, output)
    return os.path.join(folder, max(os.listdir(folder), key=int))
