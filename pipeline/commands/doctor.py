"""`arith-tfx doctor`: what a run needs from this machine, checked one by one; for each problem,
the fix. Problems stop a run; warnings only limit what runs (the cluster runner, one test)."""
import importlib
import importlib.metadata
import os
import shutil
import socket
import subprocess
import sys
from typing import Callable, List, NamedTuple, Optional

from components.atomic_pusher import serving_dir as serving_layout
from pipeline.commands.arguments import add_root_arg
from pipeline.paths import Paths
from pipeline.source_version import PROJECT_ROOT

# Distributions whose versions constraints.txt pins, and the module each installs.
PINNED = {"tfx": "tfx", "tensorflow": "tensorflow", "tf-keras": "tf_keras",
          "tensorflow-transform": "tensorflow_transform",
          "tensorflow-model-analysis": "tensorflow_model_analysis",
          "tensorflow-data-validation": "tensorflow_data_validation", "tfx-bsl": "tfx_bsl",
          "ml-metadata": "ml_metadata", "apache-beam": "apache_beam"}
CONSTRAINTS = os.path.join(PROJECT_ROOT, "constraints.txt")
INSTALL = "make .venv/.installed (or: pip install --ignore-requires-python -c constraints.txt -e .)"
# A default run writes about 30 MB under the root, the quality profile a few hundred; Beam and
# TF also write temporary files. A run that fills the disk half way leaves a mess.
MIN_FREE_BYTES = 2 << 30
# tests/inspect_test.py renders the HTML report with the first of these on PATH (find_chromium);
# without one that test is skipped, or fails where the CI environment variable is set.
CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome")
CHROMIUM_FIX = "apt-get install chromium (or put chromium-browser or google-chrome on PATH)"
SERVE_PORT = 8501


class Finding(NamedTuple):
    level: str  # "ok", "warning" or "PROBLEM"
    what: str
    fix: str = ""


def check_python() -> Finding:
    version = ".".join(map(str, sys.version_info[:3]))
    if sys.version_info[:2] == (3, 11):
        return Finding("ok", f"Python {version}")
    return Finding("warning", f"Python {version}: the pins of constraints.txt are verified on "
                              "3.11 only", "use Python 3.11 for the venv")


def _pins(path: str) -> dict:
    pins = {}
    if os.path.exists(path):
        with open(path) as f:
            for line in f:
                name, sep, version = line.split("#")[0].strip().partition("==")
                if sep:
                    pins[name.lower().replace("_", "-")] = version
    return pins


def check_stack(constraints: str = CONSTRAINTS) -> List[Finding]:
    pins, found = _pins(constraints), []
    for distribution, module in PINNED.items():
        try:
            installed = importlib.metadata.version(distribution)
        except importlib.metadata.PackageNotFoundError:
            found.append(Finding("PROBLEM", f"{distribution} is not installed", INSTALL))
            continue
        pinned = pins.get(distribution)
        if pinned and installed != pinned:
            found.append(Finding("PROBLEM", f"{distribution} {installed} is installed, "
                                            f"constraints.txt pins {pinned}", INSTALL))
            continue
        try:
            importlib.import_module(module)
        except Exception as error:  # pylint: disable=broad-except
            first = (str(error).strip().splitlines() or [""])[0]
            found.append(Finding("PROBLEM", f"{distribution} {installed} does not import: "
                                            f"{type(error).__name__}: {first}", INSTALL))
            continue
        found.append(Finding("ok", f"{distribution} {installed}"
                                   f"{' (pinned)' if pinned else ''} imports"))
    return found


def _existing_ancestor(path: str) -> str:
    while not os.path.exists(path):
        path = os.path.dirname(path)
    return path


def check_root(root: str, min_free_bytes: int = MIN_FREE_BYTES) -> List[Finding]:
    ancestor = _existing_ancestor(root)
    found = []
    if not os.path.isdir(ancestor):
        found.append(Finding("PROBLEM", f"the root {root} lies under {ancestor}, which is a file",
                             "pass --root (or set ARITH_TFX_ROOT) to a folder"))
        return found
    if os.access(ancestor, os.W_OK | os.X_OK):
        found.append(Finding("ok", f"the root {root} is writable"
                                   f"{'' if ancestor == root else ' (it will be created)'}"))
    else:
        found.append(Finding("PROBLEM", f"the root {root} is not writable ({ancestor} is not)",
                             "pass --root (or set ARITH_TFX_ROOT) to a folder you can write"))
    free = shutil.disk_usage(ancestor).free
    if free < min_free_bytes:
        found.append(Finding("PROBLEM", f"{free / 2**30:.1f} GB free under {ancestor}; a run "
                                        f"needs about {min_free_bytes / 2**30:.0f} GB",
                             "free disk space, or pass --root on a larger disk"))
    else:
        found.append(Finding("ok", f"{free / 2**30:.0f} GB free under {ancestor}"))
    serving = Paths.at(root).serving_dir
    if os.path.isdir(serving):
        try:
            names = os.listdir(serving)
        except OSError as error:
            names = []
            found.append(Finding("PROBLEM", f"cannot read {serving}: {error.strerror}",
                                 f"give this user read access to {serving}"))
        leftovers = [name for name in names if name.startswith(
            (serving_layout.STAGING_PREFIX, serving_layout.REMOVING_PREFIX))]
        if leftovers:
            found.append(Finding("warning", f"{len(leftovers)} unfinished push or removal "
                                            f"folder(s) in {serving} (never served)",
                                 "the next `arith-tfx run` on this root removes them"))
    return found


def _java_major() -> Optional[int]:
    try:
        out = subprocess.run(["java", "-version"], capture_output=True, encoding="utf-8",
                             errors="replace", timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return None
    for word in (out.stderr + out.stdout).split():
        digits = word.strip('"').split(".")[0].split("-")[0]
        if digits.isdigit():
            return int(digits)
    return None


def check_cluster_engine() -> List[Finding]:
    major = _java_major() if shutil.which("java") else None
    if major is None:
        return [Finding("warning", "no Java: a cluster runner's Flink or Spark job server "
                                   "cannot start (local runs do not need it)",
                        "apt-get install openjdk-17-jre-headless")]
    found = [Finding("ok" if major >= 11 else "warning",
                     f"Java {major}" + ("" if major >= 11 else
                                        ": Beam's Flink and Spark job servers need 11 or later"),
                     "" if major >= 11 else "apt-get install openjdk-17-jre-headless")]
    if not shutil.which("mvn"):
        found.append(Finding("warning", "no Maven: the engine's jars cannot be fetched",
                             "apt-get install maven"))
    else:
        found.append(Finding("ok", "Maven (fetches the engine's jars)"))
    return found


def find_chromium(search_path: Optional[str] = None) -> Optional[str]:
    """The first of CHROMIUM_NAMES on PATH (or on `search_path`, in PATH's format), or None.
    Imports nothing heavy: tests/inspect_test.py and `doctor` both look the browser up here."""
    for name in CHROMIUM_NAMES:
        found = shutil.which(name, path=search_path)
        if found:
            return found
    return None


def check_chromium(search_path: Optional[str] = None) -> Finding:
    found = find_chromium(search_path)
    if found:
        return Finding("ok", f"Chromium at {found} (the HTML report test renders with it)")
    return Finding("warning", f"no Chromium on PATH (none of {', '.join(CHROMIUM_NAMES)}): the "
                              "HTML report test is skipped, or fails where CI is set",
                   CHROMIUM_FIX)


def check_serve_port(port: int = SERVE_PORT) -> Finding:
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return Finding("warning", f"port {port} (arith-tfx serve's default) is in use",
                           "stop what uses it, or pass `arith-tfx serve --port P`")
    return Finding("ok", f"port {port} is free for arith-tfx serve")


def findings(root: str) -> List[Finding]:
    checks: List[Callable[[], object]] = [
        check_python, check_stack, lambda: check_root(root), check_cluster_engine,
        check_chromium, check_serve_port]
    found: List[Finding] = []
    for check in checks:
        result = check()
        found.extend(result if isinstance(result, list) else [result])
    return found


def main(root: str) -> int:
    print(f"arith-tfx doctor: checking what a run under {root} needs", flush=True)
    found = findings(root)
    for finding in found:
        print(f"  {finding.level:8} {finding.what}")
        if finding.fix:
            print(f"  {'':8} fix: {finding.fix}")
    problems = sum(f.level == "PROBLEM" for f in found)
    warnings = sum(f.level == "warning" for f in found)
    print(f"arith-tfx doctor: {problems} problem{'s' if problems != 1 else ''}, "
          f"{warnings} warning{'s' if warnings != 1 else ''}"
          + ("" if problems else "; ready to run"))
    return 1 if problems else 0


def add(commands) -> None:
    parser = commands.add_parser("doctor", help="check that this machine can run the pipeline")
    add_root_arg(parser)
    parser.set_defaults(handler=handle)


def handle(args) -> int:
    return main(os.path.abspath(args.root))
