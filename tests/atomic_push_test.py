"""Atomicity of a push, tested with a real crash: the process dies (no clean-up runs) in the
middle of copying a model into the serving directory."""
import os
import subprocess
import sys
import textwrap

from components.atomic_pusher.serving_dir import versions as serving_versions
from pipeline.paths import Paths
from pipeline.state import recovery

_CRASH_MID_COPY = textwrap.dedent("""
    import os, sys
    import tensorflow as tf
    from components.atomic_pusher import serving_dir
    copy = tf.io.gfile.copy
    def copy_then_crash(source, target, *args, **kwargs):
        copy(source, target, *args, **kwargs)
        os._exit(17)  # after the first file: no finally, no atexit
    tf.io.gfile.copy = copy_then_crash
    serving_dir.publish(sys.argv[1], sys.argv[2])
""")


def _model(folder):
    for name in ("saved_model.pb", "fingerprint.pb", "variables/variables.index",
                 "variables/variables.data-00000-of-00001"):
        os.makedirs(os.path.dirname(os.path.join(folder, name)), exist_ok=True)
        with open(os.path.join(folder, name), "wb") as f:
            f.write(name.encode() * 1000)
    return folder


def test_a_crash_mid_copy_leaves_the_served_version_and_nothing_else_visible(tmp_path):
    paths = Paths(str(tmp_path))
    served = os.path.join(paths.serving_dir, "100")
    _model(served)
    crashed = subprocess.run([sys.executable, "-c", _CRASH_MID_COPY,
                              _model(str(tmp_path / "candidate")), paths.serving_dir],
                             capture_output=True, text=True, timeout=300)
    assert crashed.returncode == 17, crashed.stderr
    assert serving_versions(paths.serving_dir) == [100]
    (staging,) = [name for name in os.listdir(paths.serving_dir) if name.startswith(".")]
    copied = [name for _, _, names in os.walk(os.path.join(paths.serving_dir, staging))
              for name in names]
    assert len(copied) == 1, copied  # the crash did come mid-copy
    assert len(recovery.recover(paths)) == 1
    assert os.listdir(paths.serving_dir) == ["100"]
