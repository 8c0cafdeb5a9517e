"""`arith-tfx predict`: answers expressions with the latest (or a chosen) pushed model."""
import os
import re
import sys
from typing import Iterable, List, NamedTuple, Optional

from components.atomic_pusher.serving_dir import versions as serving_versions
from modules import serving_contract

# Exit codes, as `arith-tfx predict --help` lists them (pipeline/commands/predict.py, EPILOG).
ANSWERED = 0    # every expression answered with an integer (right or wrong)
BAD_INPUT = 1   # some expression (its line says why) or --version was bad
USAGE = 2       # argparse's, for the command line itself
NO_INTEGER = 3  # all input was good, but the model gave no integer for some expression
NO_MODEL = 4    # no pushed model to answer with

EMPTY = "empty expression; expected defs:op, e.g. x=3,y=-4:x*y"


class PredictionError(RuntimeError):
    """No servable model where one was asked for; `exit_code` says whose fault that is."""

    def __init__(self, message: str, exit_code: int = BAD_INPUT):
        super().__init__(message)
        self.exit_code = exit_code


class Answer(NamedTuple):
    line: str
    res: str = ""
    confidence: float = 0.0
    error: str = ""
    expected: Optional[str] = None


def parse(line: str):
    """`defs:op` (or `defs:op:res`, whose res is then checked) -> (defs, op, res or None)."""
    if not line.strip():
        raise ValueError(EMPTY)
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
                              "a model passes validation", NO_MODEL)
    if version is not None and not re.fullmatch(r"[0-9]{1,19}", version):
        raise PredictionError(f"--version must be a version number, got {version!r}; "
                              f"available: {', '.join(map(str, available))}")
    chosen = int(version) if version is not None else available[-1]
    if chosen not in available:
        raise PredictionError(f"no version {version} in {serving_dir}; available: "
                              f"{', '.join(map(str, available))}")
    return os.path.join(serving_dir, str(chosen))


def answer(lines: Iterable[str], directory: str) -> List[Answer]:
    """One Answer per line, in order; bad lines (an empty one too) get an error and the rest
    are answered."""
    import tensorflow as tf
    answers, requests = [], []
    for line in (line.strip() for line in lines):
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
        shown = result.line or '""'  # an empty expression, too, gets a line that shows it
        return f"{shown}  error: {result.error}"
    text = f"{result.line}  = {result.res}  (confidence {result.confidence:.2f})"
    if result.expected is not None:
        correct = result.expected == result.res
        text += "  correct" if correct else f"  wrong, expected {result.expected}"
    return text


def exit_code(results: Iterable[Answer]) -> int:
    """BAD_INPUT if any expression was bad (even if the model also gave no integer for
    another: the caller has something to fix), else NO_INTEGER if the model gave none for
    some, else ANSWERED."""
    errors = [result.error for result in results if result.error]
    if any(serving_contract.input_error(error) for error in errors):
        return BAD_INPUT
    return NO_INTEGER if errors else ANSWERED


def main(serving_dir: str, expressions: List[str], version: Optional[str]) -> int:
    """Each argument is an expression, an empty one included: it gets an error line, as a
    script's empty variable should not vanish from the answers. On stdin, blank lines ask
    nothing (a trailing or separating blank line of a file) and are skipped."""
    directory = model_dir(serving_dir, version)
    if expressions:
        lines = expressions
    else:
        lines = [line for line in stdin_lines(sys.stdin.buffer) if line.strip()]
    results = answer(lines, directory)
    for result in results:
        print(describe(result), flush=True)
    print(f"(model version {os.path.basename(directory)})", file=sys.stderr, flush=True)
    return exit_code(results)
