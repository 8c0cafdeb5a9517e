"""One run per root, with real processes: a live holder is named, a dead one's lock is taken."""
import json
import os
import signal
import subprocess
import sys

import pytest

from pipeline.state import run_lock

_HOLD = ("import sys; from pipeline.state import run_lock\n"
         "with run_lock.hold(sys.argv[1]) as lock:\n"
         "    print('note:' + lock.note, flush=True)\n"
         "    {body}\n")


def _python(code, *args, **kwargs):
    return subprocess.Popen([sys.executable, "-c", code, *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, **kwargs)


def test_a_second_run_is_refused_at_once_naming_the_holder(tmp_path):
    root = str(tmp_path)
    with run_lock.hold(root) as lock:
        assert lock.note == ""
        assert run_lock.holder(root)["pid"] == os.getpid()
        other = _python(_HOLD.format(body="pass"), root)
        out, err = other.communicate(timeout=60)
        assert other.returncode == 1, (out, err)
        assert "RootInUseError" in err and f"pid {os.getpid()}" in err, err
        assert "started 20" in err, err
    assert run_lock.holder(root) is None
    # Released: the next holder gets it without a takeover note.
    again = _python(_HOLD.format(body="pass"), root)
    out, err = again.communicate(timeout=60)
    assert again.returncode == 0, err
    assert out.strip() == "note:", out


def test_a_lock_left_by_a_killed_process_is_taken_over_and_named(tmp_path):
    root = str(tmp_path)
    doomed = _python(_HOLD.format(body="import os, signal; os.kill(os.getpid(), signal.SIGKILL)"),
                     root)
    doomed.communicate(timeout=60)
    assert doomed.returncode == -signal.SIGKILL
    with open(os.path.join(root, run_lock.LOCK_FILE)) as f:
        assert json.load(f)["pid"] == doomed.pid  # its record survived it
    with run_lock.hold(root) as lock:
        assert f"pid {doomed.pid}" in lock.note and "did not finish" in lock.note, lock.note
        assert lock.left["pid"] == doomed.pid


def test_the_holder_record_is_cleared_after_a_clean_exit(tmp_path):
    with run_lock.hold(str(tmp_path)):
        with open(tmp_path / run_lock.LOCK_FILE) as f:
            assert json.load(f)["pid"] == os.getpid()
    assert (tmp_path / run_lock.LOCK_FILE).read_text() == ""


@pytest.mark.parametrize("content,note", [("{not json", "unreadable lock record"),
                                          ("[1, 2]", "")])
def test_an_unreadable_record_does_not_break_the_lock(tmp_path, content, note):
    (tmp_path / run_lock.LOCK_FILE).write_text(content)
    with run_lock.hold(str(tmp_path)) as lock:
        assert note in lock.note and bool(note) == bool(lock.note), lock.note
