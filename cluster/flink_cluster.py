"""`arith-tfx cluster up | status | down`: a Flink session cluster on this machine, started as
Flink's own scripts would start it (a JobManager and TaskManagers, each a JVM of its own, sized
by Flink's BashJavaUtils), plus Beam's Flink job server, which turns each Beam pipeline into a
Flink job, and a Python SDK worker pool in which the TaskManagers run the pipeline's Python steps
(the EXTERNAL environment: no Docker)."""
import dataclasses
import json
import os
import shutil
import subprocess
import sys
import urllib.error
import urllib.request
from typing import Callable, List

from cluster import artifacts, processes
from cluster.config import ClusterConfig

JOBMANAGER, JOBSERVER, WORKERPOOL = "jobmanager", "jobserver", "workerpool"
CLUSTER_FILE = "cluster.json"
# What Flink's default configuration passes to every JVM on Java 17 (env.java.opts.all).
JAVA_17_OPTIONS = [f"--add-exports={module}=ALL-UNNAMED" for module in (
    "java.base/sun.net.util", "java.rmi/sun.rmi.registry",
    "jdk.compiler/com.sun.tools.javac.api", "jdk.compiler/com.sun.tools.javac.file",
    "jdk.compiler/com.sun.tools.javac.parser", "jdk.compiler/com.sun.tools.javac.tree",
    "jdk.compiler/com.sun.tools.javac.util", "java.security.jgss/sun.security.krb5")] + [
    f"--add-opens=java.base/{package}=ALL-UNNAMED" for package in (
        "java.lang", "java.net", "java.io", "java.nio", "sun.nio.ch", "java.lang.reflect",
        "java.text", "java.time", "java.util", "java.util.concurrent",
        "java.util.concurrent.atomic", "java.util.concurrent.locks")]
LOG4J = """rootLogger.level = INFO
rootLogger.appenderRef.out.ref = Out
appender.out.name = Out
appender.out.type = Console
appender.out.layout.type = PatternLayout
appender.out.layout.pattern = %d{yyyy-MM-dd HH:mm:ss,SSS} %-5p %-60c %x - %m%n
"""


class ClusterError(RuntimeError):
    """The cluster cannot start, or is not there; the message says which part and why."""


def taskmanager(index: int) -> str:
    return f"taskmanager-{index}"


def up(config: ClusterConfig, log: Callable[[str], None] = print) -> None:
    config.validate()
    running = [name for name, record in processes.recorded(config.state_dir).items()
               if processes.alive(record)]
    if running:
        raise ClusterError(f"a cluster is already up under {config.state_dir} "
                           f"({', '.join(running)}): `arith-tfx cluster status` or `down`")
    processes.forget_dead(config.state_dir)
    _check_ports_free(config)
    if shutil.which("java") is None:
        raise ClusterError("`java` is not on PATH; Flink 1.19 runs on Java 11 or 17")
    engine = artifacts.fetch(log)
    conf_dir = _write_conf(config)
    started: List[str] = []
    try:
        _start_jobmanager(config, engine.lib, conf_dir, started)
        _start_taskmanagers(config, engine.lib, conf_dir, started)
        _start_jobserver(config, engine.job_server_jar, conf_dir, started)
        _start_workerpool(config, started)
    except BaseException:
        for name in reversed(started):
            processes.stop(config.state_dir, name)
        raise
    with open(os.path.join(config.state_dir, CLUSTER_FILE), "w") as cluster_file:
        json.dump(dataclasses.asdict(config), cluster_file, indent=1)
    log(f"Flink {config.parallelism}-slot cluster up: web UI and REST API {config.rest_url}; "
        f"run the pipeline on it with `arith-tfx run --runner flink --job-endpoint "
        f"{config.job_endpoint} --worker-pool {config.worker_pool}`")


def down(config: ClusterConfig, log: Callable[[str], None] = print) -> int:
    """Stops what `up` recorded, newest first; returns how many were running."""
    names = list(processes.recorded(config.state_dir))
    stopped = 0
    for name in reversed(names):
        if processes.stop(config.state_dir, name):
            stopped += 1
            log(f"stopped {name}")
        else:
            log(f"{name} was not running")
    if not names:
        log(f"no cluster was started under {config.state_dir}")
    try:
        os.remove(os.path.join(config.state_dir, CLUSTER_FILE))
    except FileNotFoundError:
        pass
    return stopped


def rest(config: ClusterConfig, path: str) -> dict:
    try:
        with urllib.request.urlopen(config.rest_url + path, timeout=5) as response:
            return json.load(response)
    except (urllib.error.URLError, OSError) as error:
        raise ClusterError(f"Flink's REST API at {config.rest_url} does not answer ({error}): "
                           "is the cluster up? `arith-tfx cluster up`") from error


def jobs(config: ClusterConfig) -> List[dict]:
    """Flink's own list of jobs: name, state, start and end time, per-task counts."""
    return rest(config, "/jobs/overview")["jobs"]


def status(state_dir: str, log: Callable[[str], None] = print) -> bool:
    """The processes `up` started, then the engine's own view through its REST API."""
    config = started(state_dir)
    records = processes.recorded(state_dir)
    healthy = True
    for name, record in records.items():
        running = processes.alive(record)
        healthy &= running
        log(f"{name:<15} pid {record['pid']:<8} {'running' if running else 'NOT RUNNING'}")
    try:
        overview = rest(config, "/overview")
    except ClusterError:
        log(f"Flink's REST API at {config.rest_url} does not answer: the JobManager is down "
            "(`arith-tfx cluster down`, then `up`)")
        return False
    log(f"Flink {overview['flink-version']} at {config.rest_url}: "
        f"{overview['taskmanagers']} task manager(s), {overview['slots-available']} of "
        f"{overview['slots-total']} slots free; jobs {overview['jobs-running']} running, "
        f"{overview['jobs-finished']} finished, {overview['jobs-failed']} failed, "
        f"{overview['jobs-cancelled']} cancelled")
    for job in sorted(jobs(config), key=lambda job: job["start-time"]):
        log(f"  {job['state']:<10} {job['duration'] / 1000:7.1f} s  {job['name']}")
    for what, port in (("Beam job server", config.job_port),
                       ("SDK worker pool", config.worker_pool_port)):
        listening = processes.port_open(config.host, port)
        healthy &= listening
        log(f"{what} on {config.host}:{port}: {'listening' if listening else 'NOT LISTENING'}")
    return healthy and overview["taskmanagers"] == config.task_managers


def _check_ports_free(config: ClusterConfig) -> None:
    for what, port in (("Flink REST", config.rest_port), ("Flink RPC", config.rpc_port),
                       ("Beam job server", config.job_port),
                       ("Beam artifact service", config.artifact_port),
                       ("SDK worker pool", config.worker_pool_port)):
        if processes.port_open(config.host, port):
            raise ClusterError(f"port {port} ({what}) on {config.host} is already in use; "
                               "stop what holds it or choose other ports")


def _write_conf(config: ClusterConfig) -> str:
    conf_dir = os.path.join(config.state_dir, "conf")
    tmp_dir = os.path.join(config.state_dir, "tmp")
    os.makedirs(conf_dir, exist_ok=True)
    os.makedirs(tmp_dir, exist_ok=True)
    settings = {
        "jobmanager.rpc.address": config.host, "jobmanager.rpc.port": config.rpc_port,
        "jobmanager.bind-host": config.host, "rest.address": config.host,
        "rest.bind-address": config.host, "rest.port": config.rest_port,
        "taskmanager.host": config.host, "taskmanager.bind-host": config.host,
        "jobmanager.memory.process.size": config.jobmanager_memory,
        "taskmanager.memory.process.size": config.taskmanager_memory,
        "taskmanager.numberOfTaskSlots": config.slots_per_task_manager,
        # TFDV's and TFT's Beam graphs run many exchanges at once: more network buffers than
        # Flink's default share of a TaskManager's memory.
        "taskmanager.memory.network.fraction": 0.3,
        "taskmanager.memory.network.min": "384mb", "taskmanager.memory.network.max": "768mb",
        # Beam's data plane to the SDK workers is gRPC on Netty: it buffers in direct memory
        # outside Flink's network buffers, and parses into the heap. At 1,000,000 samples a
        # 2 GB TaskManager ran out of the first ("Cannot reserve ... bytes of direct buffer
        # memory"), a 3 GB one out of the second (in Transform). At 4 GB: 512 MB of task
        # off-heap memory besides the network buffers, about 1 GB of task heap, and less sort
        # space (managed memory) than Flink's default.
        "taskmanager.memory.task.off-heap.size": "512mb",
        "taskmanager.memory.managed.fraction": 0.25,
        # The heap's OutOfMemoryError killed a gRPC thread, and Flink only logged it ("If you
        # want to fail on uncaught exceptions, ..."), so the job waited forever for its data.
        # Such a process now exits: the job fails and the run says so.
        "cluster.uncaught-exception-handling": "FAIL",
        "parallelism.default": config.parallelism,
        # The cluster's classpath already holds Beam's runner: load it from there, once.
        "classloader.resolve-order": "parent-first",
        "io.tmp.dirs": tmp_dir, "web.tmpdir": tmp_dir,
    }
    with open(os.path.join(conf_dir, "flink-conf.yaml"), "w") as conf:
        conf.writelines(f"{key}: {value}\n" for key, value in settings.items())
    with open(os.path.join(conf_dir, "log4j.properties"), "w") as log4j:
        log4j.write(LOG4J)
    return conf_dir


def _java(classpath: str, conf_dir: str, main_class: str, jvm: List[str],
          args: List[str]) -> List[str]:
    return (["java"] + JAVA_17_OPTIONS + jvm
            + [f"-Dlog4j.configurationFile=file:{os.path.join(conf_dir, 'log4j.properties')}",
               "-cp", classpath, main_class] + args)



def _resource_params(lib: str, conf_dir: str, which: str) -> List[List[str]]:
    """Flink's own memory arithmetic, as bin/jobmanager.sh and bin/taskmanager.sh use it: JVM
    options, then the dynamic properties the process needs."""
    done = subprocess.run(
        ["java", "-cp", os.path.join(lib, "*"), "org.apache.flink.runtime.util.bash.BashJavaUtils",
         which, "--configDir", conf_dir], capture_output=True, text=True)
    marker = "BASH_JAVA_UTILS_EXEC_RESULT:"
    results = [line[len(marker):].split() for line in done.stdout.splitlines()
               if line.startswith(marker)]
    if done.returncode != 0 or not results:
        raise ClusterError(f"Flink's BashJavaUtils {which} failed: "
                           f"{(done.stderr or done.stdout).strip()[-800:]}")
    return results


def _start_jobmanager(config: ClusterConfig, lib: str, conf_dir: str, started: List[str]) -> None:
    jvm, *dynamic = _resource_params(lib, conf_dir, "GET_JM_RESOURCE_PARAMS")
    processes.start(JOBMANAGER, _java(
        os.path.join(lib, "*"), conf_dir,
        "org.apache.flink.runtime.entrypoint.StandaloneSessionClusterEntrypoint",
        jvm, ["--configDir", conf_dir] + (dynamic[0] if dynamic else [])), config.state_dir)
    started.append(JOBMANAGER)
    processes.wait_until(lambda: _answers(config), 90, "Flink's JobManager", config.state_dir,
                         JOBMANAGER)


def _start_taskmanagers(config: ClusterConfig, lib: str, conf_dir: str,
                        started: List[str]) -> None:
    jvm, dynamic = _resource_params(lib, conf_dir, "GET_TM_RESOURCE_PARAMS")
    for index in range(1, config.task_managers + 1):
        processes.start(taskmanager(index), _java(
            os.path.join(lib, "*"), conf_dir,
            "org.apache.flink.runtime.taskexecutor.TaskManagerRunner", jvm,
            ["--configDir", conf_dir] + dynamic), config.state_dir)
        started.append(taskmanager(index))
    for index in range(1, config.task_managers + 1):
        processes.wait_until(lambda: _registered(config) >= index, 90,
                             f"Flink TaskManager {index}", config.state_dir, taskmanager(index))


def _start_jobserver(config: ClusterConfig, jar: str, conf_dir: str, started: List[str]) -> None:
    processes.start(JOBSERVER, _java(
        jar, conf_dir, "org.apache.beam.runners.flink.FlinkJobServerDriver",
        ["-Xmx512m"],
        [f"--flink-master={config.host}:{config.rest_port}", f"--job-host={config.host}",
         f"--job-port={config.job_port}", f"--artifact-port={config.artifact_port}",
         "--expansion-port=0",
         f"--artifacts-dir={os.path.join(config.state_dir, 'artifacts')}"]), config.state_dir)
    started.append(JOBSERVER)
    processes.wait_until(lambda: processes.port_open(config.host, config.job_port), 60,
                         "Beam's Flink job server", config.state_dir, JOBSERVER)


def _start_workerpool(config: ClusterConfig, started: List[str]) -> None:
    """The pool starts each SDK worker as `python`: this interpreter's folder goes first on PATH
    so that the workers import the same Beam, TFX and project code."""
    env = dict(os.environ)
    env["PATH"] = os.path.dirname(sys.executable) + os.pathsep + env.get("PATH", "")
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    processes.start(WORKERPOOL, [sys.executable, "-m", "cluster.worker_pool",
                                 f"--port={config.worker_pool_port}"]
                    + (["--in-process"] if config.sdk_workers == "thread" else []),
                    config.state_dir, env=env)
    started.append(WORKERPOOL)
    processes.wait_until(lambda: processes.port_open(config.host, config.worker_pool_port), 60,
                         "the SDK worker pool", config.state_dir, WORKERPOOL)


def _answers(config: ClusterConfig) -> bool:
    return _registered(config) >= 0


def _registered(config: ClusterConfig) -> int:
    """TaskManagers registered with the JobManager; -1 while its REST API does not answer."""
    try:
        return rest(config, "/overview")["taskmanagers"]
    except ClusterError:
        return -1


def started(state_dir: str) -> ClusterConfig:
    """The settings of the cluster that `up` started under state_dir."""
    try:
        with open(os.path.join(state_dir, CLUSTER_FILE)) as cluster_file:
            return ClusterConfig(**json.load(cluster_file))
    except FileNotFoundError as error:
        raise ClusterError(f"no cluster is up under {state_dir}: `arith-tfx cluster up`") from error
