"""The engine's pinned jars: Maven fetches the dependencies of flink/pom.xml from Maven Central
into a staging folder, every jar is checked against the SHA-256 sums committed in
flink/jars.sha256 (nothing missing, nothing extra, nothing different), and only then does the
folder take its place in the cache, where later runs find it. The same Maven run shades the
same jars (from Maven's local repository) into the job server's single jar, reproducibly (see
the pom): its sum is committed in jars.sha256 too (job-server.jar), so a jar built from a changed
plugin or input is refused, not trusted on first use. Every later fetch checks all of them
again. `python -m cluster.artifacts` fetches; `--write-sums` rewrites the sums after a
deliberate change of the pom."""
import argparse
import dataclasses
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
from typing import Dict

from cluster import config

HERE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "flink")
POM = os.path.join(HERE, "pom.xml")
SUMS = os.path.join(HERE, "jars.sha256")
VERIFIED = ".verified"  # marks a fetched, checked folder; holds the job server's jar's SHA-256
JOB_SERVER = "job-server.jar"  # its line in SUMS: the one jar built here, not fetched
# Maven runs in UTC: a jar entry's time is stored as a local time. The pinned shade plugin
# compensates (with TZ=America/New_York it shaded the same bytes); in UTC there is nothing to.
MAVEN_ENV = {"TZ": "UTC"}


@dataclasses.dataclass(frozen=True)
class Engine:
    lib: str  # the pinned jars: the JobManager's and TaskManagers' classpath
    # The same classes in one jar. Beam's job server uploads its whole classpath to Flink with
    # every job, and Flink's blob store takes each file in turn: 165 jars took about 14 s a
    # job here, one jar of the same size 3.5 s.
    job_server_jar: str


class ArtifactError(RuntimeError):
    """The jars could not be fetched, or are not the pinned ones."""


def _committed_sums() -> Dict[str, str]:
    with open(SUMS) as sums:
        return {name: digest for digest, name in (line.split() for line in sums if line.strip())}


def pinned_sums() -> Dict[str, str]:
    """The fetched jars' sums: the JobManager's, TaskManagers' and shaded jar's inputs."""
    return {name: digest for name, digest in _committed_sums().items() if name != JOB_SERVER}


def pinned_job_server_sum() -> str:
    digest = _committed_sums().get(JOB_SERVER)
    if digest is None:
        raise ArtifactError(f"{SUMS} pins no sum for {JOB_SERVER}, the job server's jar shaded "
                            "from the others: record it with `python -m cluster.artifacts "
                            "--write-sums`")
    return digest


def engine_dir() -> str:
    """One folder per pin set: changing the pom or the sums fetches into a new folder."""
    with open(POM, "rb") as pom, open(SUMS, "rb") as sums:
        key = hashlib.sha256(pom.read() + sums.read()).hexdigest()[:12]
    return os.path.join(config.cache_dir(), f"flink-{config.FLINK_VERSION}-{key}")


def _engine(folder: str) -> Engine:
    return Engine(lib=os.path.join(folder, "lib"),
                  job_server_jar=os.path.join(folder, JOB_SERVER))


def sha256(path: str) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as jar:
        for block in iter(lambda: jar.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def check(folder: str, expected: Dict[str, str]) -> None:
    found = {name for name in os.listdir(folder) if name.endswith(".jar")}
    problems = [f"missing {name}" for name in sorted(set(expected) - found)]
    problems += [f"unexpected {name}" for name in sorted(found - set(expected))]
    problems += [f"checksum mismatch for {name}" for name in sorted(found & set(expected))
                 if sha256(os.path.join(folder, name)) != expected[name]]
    if problems:
        raise ArtifactError(f"the engine's jars in {folder} are not the pinned ones "
                            f"({SUMS}): " + "; ".join(problems[:5])
                            + (f"; and {len(problems) - 5} more" if len(problems) > 5 else ""))


def check_built(engine: Engine, expected: str, just_built: bool = False) -> None:
    """The job server's jar must be the pinned one, byte for byte: a jar just shaded from the
    pinned jars by a changed pom or plugin, or a cached one changed since, is refused."""
    jar, folder = engine.job_server_jar, os.path.dirname(engine.lib)
    if not os.path.exists(jar):
        raise ArtifactError(f"the job server's jar {jar} is missing; remove {folder} to build "
                            "it again")
    actual = sha256(jar)
    if actual == expected:
        return
    if just_built:
        raise ArtifactError(
            f"the job server's jar that Maven shaded from the pinned jars ({JOB_SERVER}) is not "
            f"the pinned one: expected SHA-256 {expected} ({SUMS}), got {actual}. The pom, the "
            "shade plugin or one of its inputs changed; the jar was discarded. If the change is "
            "deliberate, record the new sums with `python -m cluster.artifacts --write-sums`")
    raise ArtifactError(f"the job server's jar {jar} is not the pinned one: expected SHA-256 "
                        f"{expected} ({JOB_SERVER} in {SUMS}), got {actual}; it changed since it "
                        f"was checked: remove {folder} to build it again")


def _maven(goals, lib: str, build: str = "") -> None:
    """Copies the pom's dependencies into lib; with build, also shades them into
    build/job-server.jar."""
    if shutil.which("java") is None:
        raise ArtifactError("`java` is not on PATH; Maven and Flink run on Java 11 or 17 "
                            "(Debian: apt-get install openjdk-17-jre-headless)")
    if shutil.which("mvn") is None:
        raise ArtifactError("`mvn` (Apache Maven) is not on PATH; it fetches the engine's jars "
                            "from Maven Central (Debian: apt-get install maven)")
    command = (["mvn", "--batch-mode", "--quiet", "--file", POM] + goals
               + ["org.apache.maven.plugins:maven-dependency-plugin:3.6.1:copy-dependencies",
                  f"-DoutputDirectory={lib}"] + ([f"-Dengine.build={build}"] if build else []))
    done = subprocess.run(command, capture_output=True, text=True,
                          env={**os.environ, **MAVEN_ENV})
    if done.returncode != 0:
        tail = "\n".join((done.stdout + done.stderr).strip().splitlines()[-8:])
        raise ArtifactError(f"Maven could not fetch the engine's jars ({' '.join(command)}):\n"
                            f"{tail}")


def fetch(log=print) -> Engine:
    """The verified jars: fetched unless an earlier fetch verified them, and checked again each
    time (a few seconds), so that a changed jar is never run."""
    target = engine_dir()
    expected_jar = pinned_job_server_sum()
    if os.path.exists(os.path.join(target, VERIFIED)):
        engine = _engine(target)
        check(engine.lib, pinned_sums())
        check_built(engine, expected_jar)
        return engine
    os.makedirs(os.path.dirname(target), exist_ok=True)
    staging = tempfile.mkdtemp(prefix=".engine.staging-", dir=os.path.dirname(target))
    try:
        log(f"fetching Flink {config.FLINK_VERSION} and Beam's job server "
            f"{config.BEAM_JOB_SERVER_VERSION} with Maven into {target}")
        built = _engine(staging)
        build = os.path.join(staging, "build")
        _maven(["package"], built.lib, build)
        check(built.lib, pinned_sums())
        os.rename(os.path.join(build, JOB_SERVER), built.job_server_jar)
        shutil.rmtree(build)
        check_built(built, expected_jar, just_built=True)
        with open(os.path.join(staging, VERIFIED), "w") as verified:
            verified.write(expected_jar + "\n")
        if not os.path.exists(target):  # else another fetch verified it meanwhile
            try:
                os.rename(staging, target)
            except OSError:
                if not os.path.exists(os.path.join(target, VERIFIED)):
                    raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return _engine(target)


def write_sums() -> None:
    """Fetches and shades as `fetch` does, and records the sums of what it got: the fetched jars'
    and the shaded jar's (which must come out the same on every machine: see the pom)."""
    staging = tempfile.mkdtemp(prefix="arith-tfx-jars-")
    try:
        lib, build = os.path.join(staging, "lib"), os.path.join(staging, "build")
        _maven(["package"], lib, build)
        jars = {name: os.path.join(lib, name) for name in os.listdir(lib) if name.endswith(".jar")}
        if JOB_SERVER in jars:
            raise ArtifactError(f"a dependency is named {JOB_SERVER}, the shaded jar's own name")
        jars[JOB_SERVER] = os.path.join(build, JOB_SERVER)
        with open(SUMS, "w") as sums:
            sums.writelines(f"{sha256(jars[name])}  {name}\n" for name in sorted(jars))
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--write-sums", action="store_true",
                        help="fetch and shade, and record the sums of what Maven serves "
                             "now and of the jar shaded from it")
    try:
        if parser.parse_args().write_sums:
            write_sums()
            print(f"wrote {SUMS}")
        else:
            engine = fetch()
            print(f"{engine.lib}\n{engine.job_server_jar}")
    except ArtifactError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
