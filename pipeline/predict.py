"""`arith-tfx predict`: answers expressions with the latest (or a chosen) pushed model."""
import os
import re
import sys
from typing import Iterable, List, NamedTuple, Optional

from components.atomic_pusher.serving_dir import versions as serving_versions
from modules import serving_contract


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
    if "\ufffd" in line or not _encodable(line):
        raise ValueError("not UTF-8 text")
    parts = line.split(":")
    if len(parts) not in (2, 3):
        raise ValueError("expected defs:op, e.g. x=3,y=-4:x*y")
    return parts[0].strip(), parts[1].strip(), parts[2].strip() if len(parts) == 3 else None


def _encodable(line: str) -> bool:
    """False for text with lone surrogates (undecodable bytes in command-line arguments)."""
    try:
        line.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def model_dir(serving_dir: str, version: Optional[str]) -> str:
    available = serving_versions(serving_dir)
    if not available:
        raise PredictionError(f"no pushed model in {serving_dir}: run `arith-tfx run` until "
                              "a model passes validation")
    if version is not None and not re.fullmatch(r"[0-9]{1,19}", version):
        raise PredictionError(f"--version must be a version number, got {version!r}; "
                              f"available: {', '.join(map(str, available))}")
    chosen = int(version) if version is not None else available[-1]
    if chosen not in available:
        raise PredictionError(f"no version {version} in {serving_dir}; available: "
                              f"{', '.join(map(str, available))}")
    return os.path.join(serving_dir, str(chosen))


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
        requests.append((len(answers) - 1, serving_contract.request(defs, op)))
    if requests:
        serve = tf.saved_model.load(directory).signatures[serving_contract.SIGNATURE]
        out = serve(**{serving_contract.INPUT: tf.constant([request for _, request in requests])})
        for (index, _), answer in zip(requests, serving_contract.answers(out)):
            answers[index] = answers[index]._replace(**answer)
    return answers


def stdin_lines(stream) -> List[str]:
    """Lines of text; bytes that are not UTF-8 become U+FFFD, which `parse` refuses, so that
    such a line gets its own error and the others are answered."""
    return stream.read().decode("utf-8", errors="replace").splitlines()


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
    lines = expressions or stdin_lines(sys.stdin.buffer)
    results = answer(lines, directory)
    for result in results:
        print(describe(result), flush=True)
    print(f"(model version {os.path.basename(directory)})", file=sys.stderr, flush=True)
    return 1 if any(result.error for result in results) else 0
