"""Per-epoch training curves of a root's Trainer runs, read from their TensorBoard event files
without TensorFlow (seconds, and no TensorFlow job beside a running one).

    .venv/bin/python bench/curves.py --root arith-tfx-root [--tag epoch_debed_loss ...]

Prints one line per run, split and tag: `epoch:value` pairs, epochs counted from 1.
"""
import argparse
import glob
import os
import struct

from tensorboard.compat.proto import event_pb2
from tensorboard.util import tensor_util

TAGS = ("epoch_debed_loss", "epoch_hints_loss", "epoch_loss")


def records(path):
    """The records of a TFRecord file: length (8 bytes), its CRC (4), data, the data's CRC (4).
    The CRCs are not checked; a record cut short (a file still being written) ends the file."""
    with open(path, "rb") as f:
        while True:
            header = f.read(12)
            if len(header) < 12:
                return
            (length,) = struct.unpack("<Q", header[:8])
            data = f.read(length)
            if len(data) < length or len(f.read(4)) < 4:
                return
            yield data


def scalar(value) -> float:
    if not value.HasField("tensor"):
        return value.simple_value
    return float(tensor_util.make_ndarray(value.tensor).item())


def curves(directory: str, tags):
    """{tag: [(step, value), ...]} of one split's event files; a step written again (a resumed
    run) keeps its last value."""
    found = {tag: {} for tag in tags}
    for path in sorted(glob.glob(os.path.join(directory, "events.out.tfevents.*"))):
        for data in records(path):
            event = event_pb2.Event.FromString(data)
            for value in event.summary.value:
                if value.tag in found:
                    found[value.tag][event.step] = scalar(value)
    return {tag: sorted(points.items()) for tag, points in found.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", required=True)
    parser.add_argument("--tag", action="append", help=f"default: {', '.join(TAGS)}")
    args = parser.parse_args()
    runs = sorted((path for path in glob.glob(
        os.path.join(args.root, "pipeline", "Trainer", "model_run", "*"))
        if os.path.basename(path).isdigit()), key=lambda path: int(os.path.basename(path)))
    if not runs:
        raise SystemExit(f"no Trainer runs under {args.root}/pipeline/Trainer/model_run")
    for run in runs:
        for split in ("train", "validation"):
            for tag, points in curves(os.path.join(run, split), args.tag or TAGS).items():
                line = " ".join(f"{step + 1}:{value:.3f}" for step, value in points)
                print(f"{os.path.basename(run)} {split:<10} {tag:<18} {line}")


if __name__ == "__main__":
    main()
