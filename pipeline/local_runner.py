"""The laptop runner: LocalDagRunner, DirectRunner in multi-processing mode, SQLite MLMD."""
import logging
import re
from typing import List, Optional

from modules import config as config_lib
from pipeline import beam_args, factory
from pipeline.paths import Paths

_PROGRESS = re.compile(r"Component \S+ is (running|finished)|cached execution|^Trainer: ")


class _ProgressFilter(logging.Filter):
    """Lets through the runner's per-component progress lines and anything that is a warning
    from our own code; hides the INFO chatter of Beam workers and TF."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno >= logging.ERROR:
            return True
        return bool(_PROGRESS.search(record.getMessage()))


def show_progress() -> None:
    """Prints one timestamped line as each component starts, finishes or is reused."""
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("  %(asctime)s %(message)s", "%H:%M:%S"))
    handler.addFilter(_ProgressFilter())
    root = logging.getLogger()
    root.handlers = [handler]
    root.setLevel(logging.INFO)
    for name in ("tensorflow", "absl"):  # they bring their own handlers; route them through ours
        logging.getLogger(name).handlers = []
        logging.getLogger(name).propagate = True


def run(config: config_lib.PipelineConfig, paths: Paths, stage: str = "push",
        pipeline_args: Optional[List[str]] = None) -> None:
    from tfx import v1 as tfx
    pipeline = factory.create_pipeline(
        config, paths, pipeline_args if pipeline_args is not None else beam_args.local_beam_args(),
        stage=stage)
    tfx.orchestration.LocalDagRunner().run(pipeline)
