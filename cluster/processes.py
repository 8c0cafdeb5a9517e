"""Processes that `up` starts and `down` stops: each in its own session, its output in a log
file, recorded in the state folder by pid and start time (together unique: a process that later
takes the same pid starts at another time), so that `down` stops exactly those."""
import json
import os
import signal
import socket
import subprocess
import time
from typing import Dict, List, Optional

STATE_FILE = "processes.json"


class StartError(RuntimeError):
    """A process did not come up; the message names it and ends with its log."""


def start(name: str, command: List[str], state_dir: str, env: Optional[Dict[str, str]] = None,
          cwd: Optional[str] = None) -> int:
    os.makedirs(os.path.join(state_dir, "log"), exist_ok=True)
    with open(log_path(state_dir, name), "ab") as log:
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT,
                                   stdin=subprocess.DEVNULL, start_new_session=True,
                                   env=env, cwd=cwd)
    records = recorded(state_dir)
    records[name] = {"pid": process.pid, "started": _start_ticks(process.pid),
                     "command": list(command)}
    _write(state_dir, records)
    return process.pid


def log_path(state_dir: str, name: str) -> str:
    return os.path.join(state_dir, "log", f"{name}.out")


def recorded(state_dir: str) -> Dict[str, dict]:
    try:
        with open(os.path.join(state_dir, STATE_FILE)) as state:
            return json.load(state)
    except FileNotFoundError:
        return {}


def alive(record: dict) -> bool:
    """The recorded process still runs, and it is the one we started."""
    return _start_ticks(record["pid"]) == record["started"] is not None


def stop(state_dir: str, name: str, grace_seconds: float = 15.0) -> bool:
    """SIGTERM to the process's group (a worker pool's SDK workers with it), SIGKILL after the
    grace period. False when the process was already gone."""
    records = recorded(state_dir)
    record = records.pop(name, None)
    stopped = False
    if record is not None and alive(record):
        stopped = True
        _signal_group(record["pid"], signal.SIGTERM)
        deadline = time.monotonic() + grace_seconds
        while alive(record) and time.monotonic() < deadline:
            time.sleep(0.2)
        # Also whatever of the group outlived its leader (a worker pool's SDK workers).
        _signal_group(record["pid"], signal.SIGKILL)
        _reap(record["pid"])
    _write(state_dir, records)
    return stopped


def log_tail(state_dir: str, name: str, lines: int = 15) -> str:
    try:
        with open(log_path(state_dir, name), errors="replace") as log:
            # Flink logs its whole classpath on one line: keep the tail readable.
            return "\n".join(line[:400] for line in log.read().splitlines()[-lines:])
    except FileNotFoundError:
        return "(no log)"


def port_open(host: str, port: int) -> bool:
    with socket.socket() as probe:
        probe.settimeout(0.5)
        return probe.connect_ex((host, port)) == 0


def wait_until(ready, timeout: float, what: str, state_dir: str, name: str) -> None:
    """Wait for `ready()`; fail naming what did not come up and the end of its log."""
    record = recorded(state_dir).get(name)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if ready():
            return
        if record is not None and not alive(record):
            break
        time.sleep(0.5)
    raise StartError(f"{what} did not come up (log: {log_path(state_dir, name)}):\n"
                       f"{log_tail(state_dir, name)}")


def _start_ticks(pid: int) -> Optional[int]:
    """The process's start time since boot (field 22 of /proc/<pid>/stat); None when it is
    gone or a zombie."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return None if fields[0] == "Z" else int(fields[19])


def _signal_group(pid: int, sig: int) -> None:
    try:
        os.killpg(pid, sig)
    except ProcessLookupError:
        pass


def _reap(pid: int) -> None:
    try:
        os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        pass


def _write(state_dir: str, records: Dict[str, dict]) -> None:
    os.makedirs(state_dir, exist_ok=True)
    staging = os.path.join(state_dir, f".{STATE_FILE}.{os.getpid()}")
    with open(staging, "w") as state:
        json.dump(records, state, indent=1)
    os.replace(staging, os.path.join(state_dir, STATE_FILE))
