"""One run per root: `arith-tfx run` (and `rollback`, `versions --keep`, which change what is
served) holds an exclusive lock on `<root>/run.lock` while it works.

The lock is an flock, which the kernel releases when its holder dies however it dies (SIGKILL
included), so a lock left by a dead run never blocks: the next run takes it over and says
whose it was. The file also records the holder (pid, start time, host, command) so that a
refused run can name it.
"""
import contextlib
import dataclasses
import datetime
import fcntl
import json
import os
import socket
import sys
from typing import Any, Iterator, Optional

LOCK_FILE = "run.lock"


class RootInUseError(RuntimeError):
    """Another live run holds the root."""


def _describe(holder: dict) -> str:
    return (f"pid {holder.get('pid', '?')} on {holder.get('host', '?')}, started "
            f"{holder.get('started', '?')}: {holder.get('command', '?')}")


def _read(handle) -> Optional[dict]:
    handle.seek(0)
    text = handle.read()
    try:
        holder = json.loads(text) if text.strip() else None
    except ValueError:
        return {"pid": "?", "command": f"unreadable lock record {text[:80]!r}"}
    return holder if isinstance(holder, dict) else None


@dataclasses.dataclass
class Lock:
    """A held lock: `left` is the record of a run that died holding it (None if there was none)."""
    handle: Any
    record: dict
    left: Optional[dict] = None

    @property
    def note(self) -> str:
        if not self.left:
            return ""
        return (f"took over the lock of a run that did not finish ({_describe(self.left)}); "
                f"the process is gone")

    def add(self, **fields) -> None:
        """Adds fields to the holder record, e.g. what the run is working on."""
        self.record.update(fields)
        self.handle.seek(0)
        self.handle.truncate()
        self.handle.write(json.dumps(self.record))
        self.handle.flush()


@contextlib.contextmanager
def hold(root: str) -> Iterator[Lock]:
    """Holds the root's lock for the `with` block. Raises RootInUseError, naming the holder, at
    once when a live run holds it."""
    os.makedirs(root, exist_ok=True)
    path = os.path.join(root, LOCK_FILE)
    with open(path, "a+", encoding="utf-8") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _read(handle) or {}
            raise RootInUseError(
                f"{root} is in use by another run ({_describe(holder)}); wait for it to "
                f"finish or use another --root") from None
        lock = Lock(handle, {}, left=_read(handle))
        lock.add(pid=os.getpid(), host=socket.gethostname(),
                 started=datetime.datetime.now().isoformat(timespec="seconds"),
                 command=" ".join(sys.argv))
        try:
            yield lock
        finally:
            handle.seek(0)
            handle.truncate()
            handle.flush()
            fcntl.flock(handle, fcntl.LOCK_UN)


def holder(root: str) -> Optional[dict]:
    """The record of the run holding the root's lock now, or None when no run holds it."""
    path = os.path.join(root, LOCK_FILE)
    if not os.path.exists(path):
        return None
    with open(path, "a+", encoding="utf-8") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return _read(handle) or {}
        fcntl.flock(handle, fcntl.LOCK_UN)
        return None
