"""`arith-tfx predict`: answers expressions with the latest (or a chosen) pushed model."""
import os
import sys
from typing import Iterable, List, NamedTuple, Optional

from pipeline.paths import serving_versions
from modules import export, features


class PredictionError(RuntimeError):
    """No servable model where one was asked for."""


class Answer(NamedTuple):
    line: str
    res: str = ""
    confidence: float = 0.0
    error: str = ""
    expected: Optional[str] = None


def parse(line: str):
    """`defs:op` (or `defs:op:res`, whose res is then checked) -> (defs, op, res or None)."""
    parts = line.split(":")
    if len(parts) not in (2, 3):
        raise ValueError("expected defs:op, e.g. x=3,y=-4:x*y")
    return parts[0].strip(), parts[1].strip(), parts[2].strip() if len(parts) == 3 else None


def model_dir(serving_dir: str, version: Optional[str]) -> str:
    available = serving_versions(serving_dir)
    if not available:
        raise PredictionError(f"no pushed model in {serving_dir}: run `arith-tfx run` until "
                              "a model passes validation")
    chosen = int(version) if version is not None else available[-1]
    if chosen not in available:
        raise PredictionError(f"no version {version} in {serving_dir}; available: "
                              f"{', '.join(map(str, available))}")
    return os.path.join(serving_dir, str(chosen))


def _request(defs: str, op: str) -> bytes:
    import tensorflow as tf

    def text(value: str):
        return tf.train.Feature(bytes_list=tf.train.BytesList(value=[value.encode()]))
    return tf.train.Example(features=tf.train.Features(feature={
        features.DEFS: text(defs), features.OP: text(op)})).SerializeToString()


def answer(lines: Iterable[str], directory: str) -> List[Answer]:
    """One Answer per non-empty line; bad lines get an error and the rest are answered."""
    import tensorflow as tf
    answers, requests = [], []
    for line in (line.strip() for line in lines):
        if not line:
            continue
        try:
            defs, op, expected = parse(line)
        except ValueError as error:
            answers.append(Answer(line, error=str(error)))
            continue
        answers.append(Answer(line, expected=expected))
        requests.append((len(answers) - 1, _request(defs, op)))
    if requests:
        serve = tf.saved_model.load(directory).signatures[export.SERVING]
        out = serve(examples=tf.constant([request for _, request in requests]))
        for (index, _), res, confidence, error in zip(
                requests, out["res"].numpy(), out["confidence"].numpy(), out["error"].numpy()):
            answers[index] = answers[index]._replace(
                res=res.decode(), confidence=float(confidence), error=error.decode())
    return answers


def describe(result: Answer) -> str:
    if result.error:
        return f"{result.line}  error: {result.error}"
    text = f"{result.line}  = {result.res}  (confidence {result.confidence:.2f})"
    if result.expected is not None:
        correct = result.expected == result.res
        text += "  correct" if correct else f"  wrong, expected {result.expected}"
    return text


def main(serving_dir: str, expressions: List[str], version: Optional[str]) -> int:
    directory = model_dir(serving_dir, version)
    lines = expressions or sys.stdin.read().splitlines()
    results = answer(lines, directory)
    for result in results:
        print(describe(result))
    print(f"(model version {os.path.basename(directory)})", file=sys.stderr)
    return 1 if any(result.error for result in results) else 0
