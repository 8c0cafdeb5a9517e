"""`arith-tfx predict` at its edges, on the model the tiny pipeline pushed (tests/conftest.py's
push_run, as in tests/pipeline_push_e2e_test.py), and on two models exported the way the
Trainer exports one, whose answers are known: one always gives an integer, the other never does.
Covered: empty expressions, blank stdin lines, and exit codes that tell bad input (1) from a
model that gave no integer (3) and from no model (4)."""
import itertools
import os
import subprocess
import sys
from typing import NamedTuple

import pytest

from components.atomic_pusher.serving_dir import versions as serving_versions
from modules import config, serving_contract
from pipeline.paths import Paths
from pipeline.serving import predict

EMPTY = '""  error: empty expression; expected defs:op, e.g. x=3,y=-4:x*y'


def _cli(*args, stdin=""):
    return subprocess.run([sys.executable, "-m", "pipeline.commands.cli", "predict", *args],
                          input=stdin, capture_output=True, text=True, timeout=300)


def test_help_lists_the_exit_codes_that_predict_returns():
    result = _cli("--help")
    assert result.returncode == 0, result.stderr
    # The wording is pinned by tests/cli_help.txt; here, that each code returned is listed.
    codes = result.stdout.split("\nexit codes:\n")[1].splitlines()
    assert [line.split()[0] for line in codes if line[:3].strip()] == ["0", "1", "2", "3", "4"], \
        result.stdout
    assert (predict.ANSWERED, predict.BAD_INPUT, predict.USAGE, predict.NO_INTEGER,
            predict.NO_MODEL) == (0, 1, 2, 3, 4)
    usage = _cli("--no-such-option")
    assert usage.returncode == predict.USAGE and usage.stdout == "", usage
    assert usage.stderr.splitlines()[-1] == \
        "arith-tfx: error: unrecognized arguments: --no-such-option", usage.stderr


def test_no_pushed_model_is_exit_code_4_and_nothing_is_answered(tmp_path):
    root = str(tmp_path / "root")
    result = _cli("--root", root, "x=1,y=2:x+y", "")
    assert (result.returncode, result.stdout) == (predict.NO_MODEL, ""), result
    assert result.stderr.splitlines() == [
        f"arith-tfx predict: error: no pushed model in {Paths.at(root).serving_dir}: run "
        "`arith-tfx run` until a model passes validation"], result.stderr


class Served(NamedTuple):
    root: str
    serving_dir: str
    version: int
    serve: object  # the pushed SavedModel's own serving signature


@pytest.fixture(scope="module")
def served(push_run) -> Served:
    """The newest pushed version, which predict answers with."""
    import tensorflow as tf
    version = serving_versions(push_run.serving_dir)[-1]
    model = tf.saved_model.load(os.path.join(push_run.serving_dir, str(version)))
    return Served(push_run.root, push_run.serving_dir, version,
                  model.signatures[serving_contract.SIGNATURE])


def _model_answers(served, expressions):
    """[(res, confidence, error)] of the signature itself, for exactly this batch (the batch
    predict sends for these expressions, so confidences agree to the last digit printed)."""
    import tensorflow as tf
    requests = [serving_contract.request(*expression.split(":")[:2]) for expression in expressions]
    out = served.serve(examples=tf.constant(requests))
    return [(answer[serving_contract.RES], answer[serving_contract.CONFIDENCE],
             answer[serving_contract.ERROR]) for answer in serving_contract.answers(out)]


def _expected(served, expressions):
    """predict's lines for expressions that all go to the model, written out independently."""
    return [f"{expression}  error: {error}" if error else
            f"{expression}  = {res}  (confidence {confidence:.2f})"
            for expression, (res, confidence, error) in zip(
                expressions, _model_answers(served, expressions))]


def _predict(served, *args, stdin=""):
    return _cli("--root", served.root, *args, stdin=stdin)


def _version_line(served):
    return [f"(model version {served.version})"]


def _exported(push_run, root, token: int) -> Served:
    """A root serving a real SavedModel, exported as the Trainer exports one (the tiny model
    with push_run's Transform graph), whose last layer is set to write `token` in every
    position, so that its answers are known whatever the tiny model learned."""
    import numpy as np
    import tensorflow as tf
    import tensorflow_transform as tft
    from modules import export, model as model_lib
    from tests.conftest import latest_output
    tiny = config.profile("tiny")
    model = model_lib.for_serving(model_lib.build_model(tiny.model), tiny.model)
    dbd = model.get_layer("debed").dbd
    kernel, bias = dbd.get_weights()
    bias = np.full_like(bias, -10.0)
    bias[token] = 10.0
    dbd.set_weights([np.zeros_like(kernel), bias])
    serving_dir = Paths.at(str(root)).serving_dir
    export.save(model, tft.TFTransformOutput(latest_output(push_run, "Transform",
                                                           "transform_graph")),
                tiny.model, os.path.join(serving_dir, "1"), tiny.generator.max_val)
    loaded = tf.saved_model.load(os.path.join(serving_dir, "1"))
    return Served(str(root), serving_dir, 1, loaded.signatures[serving_contract.SIGNATURE])


@pytest.fixture(scope="module")
def answering(push_run, tmp_path_factory) -> Served:
    """Writes the digit 7 everywhere: an integer for every good expression. (The pushed tiny
    model, trained for seconds, sometimes gives no integer for any.)"""
    from modules import features
    return _exported(push_run, tmp_path_factory.mktemp("answering_root"),
                     features.TOKEN_OF["7"])


@pytest.fixture(scope="module")
def no_integer(push_run, tmp_path_factory) -> Served:
    """Writes SEP (`:`) everywhere: no integer for any expression, so exit code 3 can be
    provoked."""
    from modules import features
    return _exported(push_run, tmp_path_factory.mktemp("no_integer_root"), features.SEP)


@pytest.mark.e2e
def test_every_well_formed_expression_in_range_is_good_input(answering):
    max_val = config.profile("tiny").generator.max_val
    operands = range(-max_val, max_val + 1)
    expressions = [f"{first}={a},{second}={b}:{left}{o}{right}"
                   for a, b in itertools.product(operands, operands)
                   for first, second in (("x", "y"), ("y", "x"))
                   for o in "+-*" for left, right in (("x", "y"), ("y", "x"))]
    answers = _model_answers(answering, expressions)
    assert {error for _, _, error in answers} == {""}
    assert {res for res, _, _ in answers} == {"7" * config.profile("tiny").model.width_dec}


@pytest.mark.e2e
def test_an_empty_or_blank_argument_gets_an_error_line_and_exit_code_1(served):
    alone = _predict(served, "")
    assert (alone.returncode, alone.stdout.splitlines()) == (predict.BAD_INPUT, [EMPTY]), alone
    assert alone.stderr.splitlines() == _version_line(served), alone.stderr

    result = _predict(served, " \t", "x=1,y=2:x+y", "")
    assert result.stdout.splitlines() == [EMPTY] + _expected(served, ["x=1,y=2:x+y"]) + [EMPTY]
    assert result.returncode == predict.BAD_INPUT, result.stderr
    assert result.stderr.splitlines() == _version_line(served), result.stderr


@pytest.mark.e2e
def test_blank_stdin_lines_are_skipped_without_a_line_or_an_error(answering):
    good = "x=1,y=2:x+y"
    result = _predict(answering, stdin=f"\n   \n{good}\n\t\n\n")
    assert result.stdout.splitlines() == _expected(answering, [good]), result.stdout
    assert result.returncode == predict.ANSWERED, result.stderr
    assert result.stderr.splitlines() == _version_line(answering), result.stderr

    nothing = _predict(answering, stdin="\n \n")
    assert (nothing.returncode, nothing.stdout) == (predict.ANSWERED, ""), nothing
    assert nothing.stderr.splitlines() == _version_line(answering), nothing.stderr


@pytest.mark.e2e
def test_exit_code_0_when_every_expression_gets_an_integer(answering):
    expressions = ["x=1,y=2:x+y", "y=-9,x=3:x*y", "x=0,y=9:y-x"]
    result = _predict(answering, *expressions)
    assert result.stdout.splitlines() == _expected(answering, expressions), result.stdout
    assert result.returncode == predict.ANSWERED, result.stderr
    # A wrong result to check against is still an answer.
    ((res, confidence, error),) = _model_answers(answering, expressions[:1])
    assert error == "", error
    wrong = str(int(res) + 1)
    checked = _predict(answering, f"{expressions[0]}:{wrong}")
    assert checked.stdout.splitlines() == [
        f"{expressions[0]}:{wrong}  = {res}  (confidence {confidence:.2f})  wrong, expected "
        f"{wrong}"], checked.stdout
    assert checked.returncode == predict.ANSWERED, checked.stderr


@pytest.mark.e2e
def test_exit_code_1_for_input_that_the_model_refuses(answering):
    expressions = ["x=1,y=2:x+y", "x=1,y=?:x+y", "x=1:x+y", "x=1,y=2:x/y", "x=10,y=2:x+y"]
    answers = _model_answers(answering, expressions)
    assert answers[0][2] == "" and all(
        serving_contract.input_error(error) for _, _, error in answers[1:]), answers
    result = _predict(answering, *expressions)
    assert result.stdout.splitlines() == _expected(answering, expressions), result.stdout
    assert result.returncode == predict.BAD_INPUT, result.stderr
    assert result.stderr.splitlines() == _version_line(answering), result.stderr


@pytest.mark.e2e
def test_exit_code_3_when_the_model_gives_no_integer_for_good_input(no_integer):
    expressions = ["x=1,y=2:x+y", "y=-9,x=3:x*y"]
    assert [error for _, _, error in _model_answers(no_integer, expressions)] == [
        serving_contract.NO_INTEGER] * 2
    result = _predict(no_integer, *expressions)
    assert result.stdout.splitlines() == [f"{expression}  error: {serving_contract.NO_INTEGER}"
                                          for expression in expressions], result.stdout
    assert result.returncode == predict.NO_INTEGER, result.stderr
    assert result.stderr.splitlines() == _version_line(no_integer), result.stderr


@pytest.mark.e2e
def test_bad_input_and_no_integer_together_are_exit_code_1(no_integer):
    result = _predict(no_integer, stdin="x=1,y=2:x+y\nx=1,y=2\n")
    assert result.stdout.splitlines() == [
        f"x=1,y=2:x+y  error: {serving_contract.NO_INTEGER}",
        "x=1,y=2  error: expected defs:op, e.g. x=3,y=-4:x*y"], result.stdout
    assert result.returncode == predict.BAD_INPUT, result.stderr


def test_exit_codes_follow_the_worst_answer():
    answer = predict.Answer
    assert predict.exit_code([]) == predict.ANSWERED
    assert predict.exit_code([answer("a", res="3"), answer("b", res="-4")]) == predict.ANSWERED
    no_integer = answer("c", error=serving_contract.NO_INTEGER)
    bad = answer("d", error=predict.EMPTY)
    assert predict.exit_code([answer("a", res="3"), no_integer]) == predict.NO_INTEGER
    assert predict.exit_code([no_integer, bad]) == predict.BAD_INPUT
    assert predict.exit_code([bad, answer("a", res="3")]) == predict.BAD_INPUT


@pytest.mark.e2e
def test_a_version_that_was_not_pushed_is_bad_input(served):
    result = _predict(served, "--version", "7", "x=1,y=2:x+y")
    assert (result.returncode, result.stdout) == (predict.BAD_INPUT, ""), result
    available = ", ".join(map(str, serving_versions(served.serving_dir)))
    assert result.stderr.splitlines() == [
        f"arith-tfx predict: error: no version 7 in {served.serving_dir}; available: "
        f"{available}"], result.stderr
