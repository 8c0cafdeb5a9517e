"""Beam arguments for each runner the pipeline supports: the DirectRunner on this machine (the
default: one worker process per core), a Flink cluster through Beam's portable job server, and
Google Cloud Dataflow. Dataflow's preset refuses what is missing before anything runs."""
import dataclasses
import os
from typing import List, Tuple

from cluster.config import ClusterConfig

RUNNERS = ("direct", "flink", "dataflow")
_LOCAL_CLUSTER = ClusterConfig(state_dir="")  # the ports `arith-tfx cluster up` uses by default
# The project's own packaging: remote workers install it to import the components and modules.
SETUP_FILE = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "setup.py")


class RunnerError(ValueError):
    """A runner's options are missing or malformed; the message names the option."""


@dataclasses.dataclass(frozen=True)
class RunnerOptions:
    runner: str = "direct"
    workers: int = 0  # DirectRunner processes; 0 is one per core
    # flink: Beam's job server and the Python SDK worker pool; by default those that
    # `arith-tfx cluster up` starts.
    job_endpoint: str = _LOCAL_CLUSTER.job_endpoint
    worker_pool: str = _LOCAL_CLUSTER.worker_pool
    project: str = ""  # dataflow
    region: str = ""
    temp_location: str = ""
    staging_location: str = ""


def ship_project() -> List[str]:
    """Beam ships the project to remote workers with its setup.py. Given, it also keeps TFX from
    building an sdist of TFX itself before every Beam step (a second, and 52 MB left in /tmp
    each time: tfx.utils.dependency_utils)."""
    return [f"--setup_file={SETUP_FILE}"] if os.path.isfile(SETUP_FILE) else []


def local_beam_args(workers: int = 0) -> List[str]:
    """workers 0: one per core of the machine that runs the pipeline (Beam's own 0)."""
    return ["--runner=DirectRunner", "--direct_running_mode=multi_processing",
            f"--direct_num_workers={workers}"] + ship_project()


def flink_beam_args(job_endpoint: str, worker_pool: str) -> List[str]:
    """Beam's portable runner: the job server translates each pipeline into a Flink job, and
    Flink's task managers run the Python steps in the SDK workers of an EXTERNAL pool."""
    host_port("job_endpoint", job_endpoint)
    host_port("worker_pool", worker_pool)
    return ["--runner=PortableRunner", f"--job_endpoint={job_endpoint}",
            "--environment_type=EXTERNAL", f"--environment_config={worker_pool}"] + ship_project()


def dataflow_beam_args(options: RunnerOptions) -> List[str]:
    missing = [name for name in ("project", "region", "temp_location", "staging_location")
               if not getattr(options, name)]
    if missing:
        raise RunnerError(
            "--runner dataflow needs " + ", ".join(f"--{name.replace('_', '-')}" for name in missing))
    for name in ("temp_location", "staging_location"):
        if not getattr(options, name).startswith("gs://"):
            raise RunnerError(f"--{name.replace('_', '-')} must be a gs:// location for Dataflow, "
                              f"not {getattr(options, name)!r}")
    if not os.path.isfile(SETUP_FILE):
        raise RunnerError(f"--runner dataflow ships the project with {SETUP_FILE}, which is "
                          "missing: run from a checkout of arith-tfx")
    return ["--runner=DataflowRunner", f"--project={options.project}",
            f"--region={options.region}", f"--temp_location={options.temp_location}",
            f"--staging_location={options.staging_location}"] + ship_project()


def for_runner(options: RunnerOptions) -> List[str]:
    if options.runner == "direct":
        return local_beam_args(options.workers)
    if options.runner == "flink":
        return flink_beam_args(options.job_endpoint, options.worker_pool)
    if options.runner == "dataflow":
        return dataflow_beam_args(options)
    raise RunnerError(f"unknown runner {options.runner!r}; choose one of {', '.join(RUNNERS)}")


def host_port(name: str, address: str) -> Tuple[str, int]:
    """HOST:PORT of the option `name`, checked."""
    host, _, port = address.rpartition(":")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise RunnerError(f"--{name.replace('_', '-')} must be HOST:PORT, not {address!r}")
    return host, int(port)

