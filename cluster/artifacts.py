"""The engine's pinned jars: Maven fetches the dependencies of flink/pom.xml from Maven Central
into a staging folder, every jar is checked against the SHA-256 sums committed in
flink/jars.sha256 (nothing missing, nothing extra, nothing different), and only then does the
folder take its place in the cache, where later runs find it. The same Maven run shades the
same jars (from Maven's local repository) into the job server's single jar, kept only when the
copies pass the check; its own sum is recorded then and checked on every later fetch. `python -m cluster.artifacts` fetches; `--write-sums` rewrites
the sums after a deliberate change of the pom."""
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
VERIFIED = ".verified"  # holds the SHA-256 of the job server's jar, as it was built


@dataclasses.dataclass(frozen=True)
class Engine:
    lib: str  # the pinned jars: the JobManager's and TaskManagers' classpath
    # The same classes in one jar. Beam's job server uploads its whole classpath to Flink with
    # every job, and Flink's blob store takes each file in turn: 165 jars took about 14 s a
    # job here, one jar of the same size 3.5 s.
    job_server_jar: str


class ArtifactError(RuntimeError):
    """The jars could not be fetched, or are not the pinned ones."""


def pinned_sums() -> Dict[str, str]:
    with open(SUMS) as sums:
        return {name: digest for digest, name in (line.split() for line in sums if line.strip())}


def engine_dir() -> str:
    """One folder per pin set: changing the pom or the sums fetches into a new folder."""
    with open(POM, "rb") as pom, open(SUMS, "rb") as sums:
        key = hashlib.sha256(pom.read() + sums.read()).hexdigest()[:12]
    return os.path.join(config.cache_dir(), f"flink-{config.FLINK_VERSION}-{key}")


def _engine(folder: str) -> Engine:
    return Engine(lib=os.path.join(folder, "lib"),
                  job_server_jar=os.path.join(folder, "job-server.jar"))


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


def check_built(engine: Engine) -> None:
    with open(os.path.join(os.path.dirname(engine.lib), VERIFIED)) as verified:
        expected = verified.read().strip()
    if not os.path.exists(engine.job_server_jar) or sha256(engine.job_server_jar) != expected:
        raise ArtifactError(f"{engine.job_server_jar} is missing or not the jar built from the "
                            f"pinned ones; remove {os.path.dirname(engine.lib)} to build it again")


def _maven(goals, lib: str, build: str = "") -> None:
    """Copies the pom's dependencies into lib; with build, also shades them into
    build/job-server.jar."""
    if shutil.which("mvn") is None:
        raise ArtifactError("`mvn` (Apache Maven) is not on PATH; it fetches the engine's jars "
                            "from Maven Central (Debian: apt-get install maven)")
    command = (["mvn", "--batch-mode", "--quiet", "--file", POM] + goals
               + ["org.apache.maven.plugins:maven-dependency-plugin:3.6.1:copy-dependencies",
                  f"-DoutputDirectory={lib}"] + ([f"-Dengine.build={build}"] if build else []))
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        tail = "\n".join((done.stdout + done.stderr).strip().splitlines()[-8:])
        raise ArtifactError(f"Maven could not fetch the engine's jars ({' '.join(command)}):\n"
                            f"{tail}")


def fetch(log=print) -> Engine:
    """The verified jars: fetched unless an earlier fetch verified them, and checked again each
    time (a few seconds), so that a changed jar is never run."""
    target = engine_dir()
    if os.path.exists(os.path.join(target, VERIFIED)):
        engine = _engine(target)
        check(engine.lib, pinned_sums())
        check_built(engine)
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
        os.rename(os.path.join(build, "job-server.jar"), built.job_server_jar)
        shutil.rmtree(build)
        with open(os.path.join(staging, VERIFIED), "w") as verified:
            verified.write(sha256(built.job_server_jar) + "\n")
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
    staging = tempfile.mkdtemp(prefix="arith-tfx-jars-")
    try:
        _maven([], staging)
        lines = sorted(f"{sha256(os.path.join(staging, name))}  {name}"
                       for name in os.listdir(staging) if name.endswith(".jar"))
        with open(SUMS, "w") as sums:
            sums.write("\n".join(sorted(lines, key=lambda line: line.split()[1])) + "\n")
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--write-sums", action="store_true",
                        help="fetch and record the sums of what Maven serves now")
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
