"""Shared fixtures: real pipeline runs on tiny data, made once per test session."""
import os

import pytest

from pipeline import beam_args, config, factory, paths

# Markers: `e2e` tests run real TFX pipelines (tens of seconds each); unit tests are fast.
E2E_BEAM_ARGS = beam_args.local_beam_args(workers=2)


def run_pipeline(cfg: config.PipelineConfig, root: str, stage: str) -> paths.Paths:
    from tfx import v1 as tfx
    where = paths.Paths(root)
    tfx.orchestration.LocalDagRunner().run(
        factory.create_pipeline(cfg, where, E2E_BEAM_ARGS, stage=stage))
    return where


@pytest.fixture(scope="session")
def data_run(tmp_path_factory) -> paths.Paths:
    """The data half of the tiny profile, run once: generator to DataGate."""
    return run_pipeline(config.profile("tiny"), str(tmp_path_factory.mktemp("data_run")), "data")


@pytest.fixture(scope="session")
def train_run(data_run) -> paths.Paths:
    """Transform and Trainer of the tiny profile, on top of the data half (which is cached)."""
    return run_pipeline(config.profile("tiny"), data_run.root, "train")


def latest_output(where: paths.Paths, component: str, output: str) -> str:
    """The newest artifact folder a component wrote for one of its outputs."""
    folder = os.path.join(where.pipeline_root, component, output)
    return os.path.join(folder, max(os.listdir(folder), key=int))
