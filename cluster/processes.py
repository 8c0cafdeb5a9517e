"""Processes that `up` starts and `down` stops: each in its own session, its output in a log
file, recorded in the state folder by pid and start time (together unique until the machine
restarts: a process that later takes the same pid starts at another time), so that `down`
stops exactly those."""
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
    started = _start_ticks(record["pid"])
    return started is not None and started == record["started"]


def forget_dead(state_dir: str) -> None:
    """Drops the records of processes that are gone (a crashed cluster's), after ending what
    is left of their groups."""
    records = recorded(state_dir)
    for name in [name for name, record in records.items() if not alive(record)]:
        _kill_orphans(records.pop(name))
    _write(state_dir, records)


def stop(state_dir: str, name: str, grace_seconds: float = 15.0) -> bool:
    """SIGTERM to the process's group (a worker pool's SDK workers with it), SIGKILL after the
    grace period. False when the process was already gone (what outlived it in its group is
    still killed)."""
    records = recorded(state_dir)
    record = records.pop(name, None)
    stopped = False
    if record is not None and not alive(record):
        _kill_orphans(record)
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
        try:
            return probe.connect_ex((host, port)) == 0
        except OSError:  # e.g. a host name that does not resolve
            return False


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


def _kill_orphans(record: dict) -> None:
    """Members of a dead leader's group that started after it: its children, not strangers."""
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            stat = _stat(int(entry))
            if stat and stat[2] == str(record["pid"]) and int(stat[19]) >= record["started"]:
                try:
                    os.kill(int(entry), signal.SIGKILL)
                except ProcessLookupError:
                    pass


def free_ports(count: int, host: str = "localhost") -> List[int]:
    """Ports free now (the OS's choice), for a cluster that must not clash with another."""
    sockets = [socket.socket() for _ in range(count)]
    try:
        for each in sockets:
            each.bind((host, 0))
        return [each.getsockname()[1] for each in sockets]
    finally:
        for each in sockets:
            each.close()


def _stat(pid: int) -> Optional[List[str]]:
    """/proc/<pid>/stat from the state field on (state, ppid, pgrp, ...)."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None


def _start_ticks(pid: int) -> Optional[int]:
    """The process's start time since boot (field 22 of /proc/<pid>/stat); None when it is
    gone or a zombie."""
    fields = _stat(pid)
    return None if fields is None or fields[0] == "Z" else int(fields[19])


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
