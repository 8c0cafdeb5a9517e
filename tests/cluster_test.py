"""The local cluster's parts that need no engine: real processes started, recognized and stopped
by pid and start time; the pinned jars checked by their SHA-256 sums; the runner presets."""
import hashlib
import os
import subprocess
import time

import pytest

from cluster import artifacts, flink_cluster, processes
from cluster.config import ClusterConfig
from pipeline import beam_args


def _living_in_group(group: int):
    found = subprocess.run(["pgrep", "-g", str(group)], capture_output=True, text=True).stdout
    return [pid for pid in found.split() if processes._start_ticks(int(pid)) is not None]


def test_stop_ends_the_whole_process_group(tmp_path):
    state = str(tmp_path)
    # A shell whose child would outlive a plain kill of the shell: like the worker pool's SDK workers.
    processes.start("pool", ["sh", "-c", "sleep 300 & wait"], state)
    record = processes.recorded(state)["pool"]
    deadline = time.monotonic() + 10
    while len(_living_in_group(record["pid"])) < 2 and time.monotonic() < deadline:
        time.sleep(0.1)
    assert len(_living_in_group(record["pid"])) == 2
    assert processes.alive(record)
    assert processes.stop(state, "pool")
    assert not processes.alive(record)
    assert _living_in_group(record["pid"]) == []  # the sleep too, not only its shell
    assert "pool" not in processes.recorded(state)


def test_down_leaves_alone_a_process_that_reused_a_recorded_pid(tmp_path):
    """A record whose pid now belongs to another process (another start time) is not that one."""
    state = str(tmp_path)
    processes.start("jobmanager", ["sleep", "300"], state)
    records = processes.recorded(state)
    processes.stop(state, "jobmanager")
    time.sleep(0.1)  # start times count in hundredths of a second
    stranger = subprocess.Popen(["sleep", "300"])
    try:
        records["jobmanager"]["pid"] = stranger.pid  # as if the pid had been reused since
        processes._write(state, records)
        lines = []
        assert flink_cluster.down(ClusterConfig(state_dir=state), log=lines.append) == 0
        assert lines == ["jobmanager was not running"]
        assert stranger.poll() is None
    finally:
        stranger.kill()
        stranger.wait()


def test_up_refuses_a_port_in_use_naming_it(tmp_path):
    import socket
    with socket.socket() as holder:
        holder.bind(("localhost", 0))
        holder.listen()
        port = holder.getsockname()[1]
        with pytest.raises(flink_cluster.ClusterError, match=f"port {port} \\(Beam job server\\)"):
            flink_cluster.up(ClusterConfig(state_dir=str(tmp_path), job_port=port,
                                           rest_port=1, rpc_port=2, artifact_port=3,
                                           worker_pool_port=4))
    assert processes.recorded(str(tmp_path)) == {}


def test_status_without_a_cluster_says_so(tmp_path):
    with pytest.raises(flink_cluster.ClusterError, match="no cluster is up"):
        flink_cluster.status(str(tmp_path))


def _jar(folder, name: str, content: bytes) -> str:
    with open(os.path.join(folder, name), "wb") as jar:
        jar.write(content)
    return hashlib.sha256(content).hexdigest()


def test_jars_must_match_the_pinned_sums_exactly(tmp_path):
    folder = str(tmp_path)
    sums = {"a.jar": _jar(folder, "a.jar", b"a"), "b.jar": _jar(folder, "b.jar", b"b")}
    artifacts.check(folder, sums)
    _jar(folder, "b.jar", b"tampered")
    _jar(folder, "extra.jar", b"x")
    sums["c.jar"] = "0" * 64
    with pytest.raises(artifacts.ArtifactError) as error:
        artifacts.check(folder, sums)
    assert "missing c.jar" in str(error.value)
    assert "unexpected extra.jar" in str(error.value)
    assert "checksum mismatch for b.jar" in str(error.value)


def test_the_job_servers_jar_must_be_the_pinned_one(tmp_path):
    engine = artifacts.Engine(lib=str(tmp_path / "lib"),
                              job_server_jar=str(tmp_path / "job-server.jar"))
    digest = _jar(str(tmp_path), "job-server.jar", b"built")
    artifacts.check_built(engine, digest)
    changed = _jar(str(tmp_path), "job-server.jar", b"changed since")
    with pytest.raises(artifacts.ArtifactError) as error:
        artifacts.check_built(engine, digest)
    assert f"{engine.job_server_jar} is not the pinned one" in str(error.value)
    assert f"expected SHA-256 {digest}" in str(error.value) and f"got {changed}" in str(error.value)
    os.remove(engine.job_server_jar)
    with pytest.raises(artifacts.ArtifactError, match="job server's jar .* is missing"):
        artifacts.check_built(engine, digest)


def _fake_maven(jars, shaded: bytes):
    """Stands in for Maven: copies `jars` into lib and 'shades' `shaded` into build."""
    def maven(goals, lib, build=""):
        os.makedirs(lib)
        for name, content in jars.items():
            _jar(lib, name, content)
        if build:
            os.makedirs(build)
            _jar(build, artifacts.JOB_SERVER, shaded)
    return maven


def test_fetch_refuses_a_shaded_jar_that_is_not_the_pinned_one(tmp_path, monkeypatch):
    """The shaded jar's sum is committed: a jar shaded differently (another plugin, another
    input) fails the fetch, naming the jar and both sums, and nothing enters the cache."""
    pom, sums = tmp_path / "pom.xml", tmp_path / "jars.sha256"
    pom.write_text("<project/>")
    a = hashlib.sha256(b"a").hexdigest()
    pinned = hashlib.sha256(b"shaded").hexdigest()
    sums.write_text(f"{a}  a.jar\n{pinned}  job-server.jar\n")
    monkeypatch.setattr(artifacts, "POM", str(pom))
    monkeypatch.setattr(artifacts, "SUMS", str(sums))
    monkeypatch.setenv("ARITH_TFX_CACHE", str(tmp_path / "cache"))
    assert artifacts.pinned_sums() == {"a.jar": a}  # the shaded jar is not one of lib's
    monkeypatch.setattr(artifacts, "_maven", _fake_maven({"a.jar": b"a"}, b"shaded otherwise"))
    with pytest.raises(artifacts.ArtifactError) as error:
        artifacts.fetch(log=lambda line: None)
    message = str(error.value)
    assert "(job-server.jar) is not the pinned one" in message
    assert f"expected SHA-256 {pinned}" in message
    assert f"got {hashlib.sha256(b'shaded otherwise').hexdigest()}" in message
    assert os.listdir(tmp_path / "cache") == []  # the staging folder is gone, no engine cached
    monkeypatch.setattr(artifacts, "_maven", _fake_maven({"a.jar": b"a"}, b"shaded"))
    engine = artifacts.fetch(log=lambda line: None)
    assert artifacts.sha256(engine.job_server_jar) == pinned
    monkeypatch.setattr(artifacts, "_maven", None)  # a cached engine is checked, not built again
    assert artifacts.fetch(log=lambda line: None) == engine
    _jar(os.path.dirname(engine.job_server_jar), "job-server.jar", b"changed in the cache")
    with pytest.raises(artifacts.ArtifactError, match="changed since it was checked"):
        artifacts.fetch(log=lambda line: None)


def test_the_committed_sums_pin_flink_beams_runner_and_the_shaded_jar():
    sums = artifacts.pinned_sums()
    assert "flink-runtime-1.19.0.jar" in sums and "beam-runners-flink-1.19-2.62.0.jar" in sums
    assert artifacts.JOB_SERVER not in sums and len(sums) == 165
    assert all(len(digest) == 64 for digest in sums.values())
    assert len(artifacts.pinned_job_server_sum()) == 64


def test_flink_preset_points_at_the_job_server_and_the_worker_pool():
    args = beam_args.for_runner(beam_args.RunnerOptions(
        runner="flink", job_endpoint="engine:8099", worker_pool="engine:50000"))
    assert args == ["--runner=PortableRunner", "--job_endpoint=engine:8099",
                    "--environment_type=EXTERNAL", "--environment_config=engine:50000",
                    f"--setup_file={beam_args.SETUP_FILE}"]
    with pytest.raises(beam_args.RunnerError, match="--worker-pool must be HOST:PORT"):
        beam_args.for_runner(beam_args.RunnerOptions(runner="flink", worker_pool="engine"))


def test_dataflow_preset_ships_setup_py_and_names_what_is_missing():
    complete = beam_args.RunnerOptions(runner="dataflow", project="p", region="europe-west4",
                                       temp_location="gs://b/tmp", staging_location="gs://b/stage")
    args = beam_args.for_runner(complete)
    assert "--runner=DataflowRunner" in args and "--project=p" in args
    assert f"--setup_file={beam_args.SETUP_FILE}" in args and os.path.isfile(beam_args.SETUP_FILE)
    with pytest.raises(beam_args.RunnerError, match="needs --project, --region$"):
        beam_args.for_runner(beam_args.RunnerOptions(
            runner="dataflow", temp_location="gs://b/tmp", staging_location="gs://b/stage"))
    with pytest.raises(beam_args.RunnerError, match="--staging-location must be a gs://"):
        import dataclasses
        beam_args.for_runner(dataclasses.replace(complete, staging_location="/tmp/stage"))


def test_a_root_remembers_where_its_artifacts_live(tmp_path):
    from pipeline.paths import Paths
    root = str(tmp_path / "root")
    Paths.at(root, "gs://bucket/arith/").record_artifact_root()
    paths = Paths.at(root)  # what predict, serve, versions and doctor use
    assert paths.serving_dir == "gs://bucket/arith/serving"
    assert paths.data_root == "gs://bucket/arith/data"
    assert paths.metadata_path == os.path.join(root, "metadata.sqlite")
    with pytest.raises(ValueError, match="keeps its data and artifacts at gs://bucket/arith"):
        Paths.at(root, "gs://other/place")


def test_run_refuses_at_once_what_the_runner_cannot_use(tmp_path, capsys):
    from pipeline.commands import cli
    (port,) = processes.free_ports(1)
    assert cli.main(["run", "--root", str(tmp_path), "--runner", "flink",
                     "--job-endpoint", f"localhost:{port}"]) == 2
    assert f"no Beam job server answers at localhost:{port} (--job-endpoint)" in (
        capsys.readouterr().err)
    assert cli.main(["run", "--root", str(tmp_path), "--runner", "dataflow", "--project", "p",
                     "--region", "r", "--temp-location", "gs://b/t",
                     "--staging-location", "gs://b/s"]) == 2
    assert "--runner dataflow needs --artifact-root gs://" in capsys.readouterr().err
    assert os.listdir(tmp_path) == []  # refused before anything was written
