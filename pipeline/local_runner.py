"""The laptop runner: TFX's LocalDagRunner (DirectRunner in multi-processing mode, SQLite MLMD),
with a run id chosen here and a report of every component as it starts, finishes, is reused
from the cache, or fails."""
import dataclasses
import datetime
import time
from typing import Callable, List, Optional

from ml_metadata.proto import metadata_store_pb2
from tfx.dsl.compiler import constants
from tfx.orchestration import metadata
from tfx.orchestration.local import runner_utils
from tfx.orchestration.portable import launcher, runtime_parameter_utils
from tfx.orchestration.portable.tfx_runner import IrBasedRunner

from modules import config as config_lib
from pipeline import beam_args, factory
from pipeline.paths import Paths

RAN, CACHED, SKIPPED, FAILED = "ran", "cached", "skipped", "failed"


class ExecutionFailedError(RuntimeError):
    """The launcher recorded a failed execution without raising (e.g. input resolution)."""


@dataclasses.dataclass
class NodeResult:
    node: str
    state: str  # RAN, CACHED, SKIPPED or FAILED
    seconds: float
    execution_id: int = 0


class ReportingDagRunner(IrBasedRunner):
    """LocalDagRunner's loop over the components in topological order, calling `on_start(node)`
    before and `on_end(NodeResult)` after each one."""

    def __init__(self, run_id: str, on_start: Callable[[str], None],
                 on_end: Callable[[NodeResult], None]):
        self.run_id = run_id
        self._on_start = on_start
        self._on_end = on_end

    def run_with_ir(self, pipeline, run_options=None, **unused) -> None:
        if run_options is not None:
            raise ValueError("partial runs are not supported by this runner")
        runtime_parameter_utils.substitute_runtime_parameter(
            pipeline, {constants.PIPELINE_RUN_ID_PARAMETER_NAME: self.run_id})
        deployment = runner_utils.extract_local_deployment_config(pipeline)
        connection = getattr(deployment.metadata_connection_config,
                             deployment.metadata_connection_config.WhichOneof(
                                 "connection_config"))
        for node in pipeline.nodes:
            pipeline_node = node.pipeline_node
            node_id = pipeline_node.node_info.id
            if pipeline_node.execution_options.HasField("skip"):
                continue
            component_launcher = launcher.Launcher(
                pipeline_node=pipeline_node,
                mlmd_connection=metadata.Metadata(connection),
                pipeline_info=pipeline.pipeline_info,
                pipeline_runtime_spec=pipeline.runtime_spec,
                executor_spec=runner_utils.extract_executor_spec(deployment, node_id),
                custom_driver_spec=runner_utils.extract_custom_driver_spec(deployment, node_id))
            self._on_start(node_id)
            started = time.monotonic()
            try:
                info = component_launcher.launch()
            except BaseException:
                self._on_end(NodeResult(node_id, FAILED, time.monotonic() - started))
                raise
            execution_id = info.execution_id if info is not None else 0
            state = _state(connection, execution_id)
            self._on_end(NodeResult(node_id, state, time.monotonic() - started, execution_id))
            if state == FAILED:
                raise ExecutionFailedError(
                    f"{node_id}: execution {execution_id} failed before its executor ran (its "
                    f"inputs could not be resolved; the log says why)")


def _state(connection, execution_id: Optional[int]) -> str:
    if not execution_id:
        return SKIPPED
    with metadata.Metadata(connection) as handle:
        (execution,) = handle.store.get_executions_by_id([execution_id])
    return {metadata_store_pb2.Execution.CACHED: CACHED,
            metadata_store_pb2.Execution.FAILED: FAILED}.get(execution.last_known_state, RAN)


def run(config: config_lib.PipelineConfig, paths: Paths, stage: str = "push",
        pipeline_args: Optional[List[str]] = None, enable_cache: bool = True,
        run_id: str = "", on_start: Callable[[str], None] = lambda node: None,
        on_end: Callable[[NodeResult], None] = lambda result: None) -> str:
    """Runs the pipeline; returns its run id (the MLMD pipeline_run context's name)."""
    pipeline = factory.create_pipeline(
        config, paths, pipeline_args if pipeline_args is not None else beam_args.local_beam_args(),
        stage=stage, enable_cache=enable_cache)
    runner = ReportingDagRunner(run_id or datetime.datetime.now().isoformat(), on_start, on_end)
    runner.run(pipeline)
    return runner.run_id
