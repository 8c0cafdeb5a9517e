"""The local cluster's settings, in one place: where it keeps its state, its size and ports."""
import dataclasses
import os

FLINK_VERSION = "1.19.0"
BEAM_JOB_SERVER_VERSION = "2.62.0"


def default_state_dir() -> str:
    return os.environ.get("ARITH_TFX_CLUSTER") or os.path.join(cache_dir(), "cluster")


def cache_dir() -> str:
    """Fetched jars live here, shared by every checkout and cluster on this machine."""
    return os.environ.get("ARITH_TFX_CACHE") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "arith-tfx")


@dataclasses.dataclass(frozen=True)
class ClusterConfig:
    state_dir: str = dataclasses.field(default_factory=default_state_dir)
    task_managers: int = 1
    slots_per_task_manager: int = 1
    host: str = "localhost"
    rest_port: int = 8081  # Flink's REST API and web UI
    rpc_port: int = 6123  # Flink's JobManager RPC
    job_port: int = 8099  # Beam's job service: the pipeline's --job_endpoint
    artifact_port: int = 8098
    worker_pool_port: int = 50000  # the pipeline's --environment_config
    # "process": a new Python process per SDK worker (parallel); "thread": threads of the
    # pool's process, which imports TensorFlow once for all jobs (cluster/worker_pool.py).
    sdk_workers: str = "process"
    jobmanager_memory: str = "1024m"
    taskmanager_memory: str = "4096m"

    @property
    def job_endpoint(self) -> str:
        return f"{self.host}:{self.job_port}"

    @property
    def worker_pool(self) -> str:
        return f"{self.host}:{self.worker_pool_port}"

    @property
    def rest_url(self) -> str:
        return f"http://{self.host}:{self.rest_port}"

    @property
    def parallelism(self) -> int:
        return self.task_managers * self.slots_per_task_manager

    def validate(self) -> "ClusterConfig":
        if self.task_managers < 1 or self.slots_per_task_manager < 1:
            raise ValueError("a cluster needs at least one task manager with one slot")
        if self.sdk_workers not in ("process", "thread"):
            raise ValueError(f"sdk_workers is 'process' or 'thread', not {self.sdk_workers!r}")
        return self
