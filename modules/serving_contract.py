"""The serving contract of the exported SavedModel, in one place: its signature and input, its
outputs, the request a client sends, what `error` says of a request the model cannot answer, and
the answer that is not an input error. No Keras: the exported model (modules/export.py),
ServingCheck's probe and canaries, `predict` and `serve` all read it."""
from typing import Dict, List

from tensorflow.core.example import example_pb2

from modules import features

SIGNATURE = "serving_default"
INPUT = "examples"  # serialized tf.Examples with the `defs` and `op` features
OUTPUTS = RES, CONFIDENCE, ERROR = ("res", "confidence", "error")
# What `error` says of a request that cannot go to the model (ServingCheck's canaries expect it).
MISSING_DEFS = "missing defs"
MISSING_OP = "missing op"
UNKNOWN_CHARACTER = "unknown character (allowed: x y = , + - * and digits)"
BAD_DEFS = "defs must define x and y, as x=A,y=B"
BAD_OP = "op must be x<o>y or y<o>x with o one of + - *"
TOO_LONG = "expression longer than"
OUT_OF_RANGE = "operands must be in"
# The one `error` that is the model's failure, not the request's: every other error names a
# problem with the input.
NO_INTEGER = "the model gave no integer"
REQUEST_FEATURES = (features.DEFS, features.OP)


def request(defs: str, op: str, per_character: bool = False) -> bytes:
    """A serialized tf.Example; an empty field is left out, as a client that forgot it would."""
    example = example_pb2.Example()
    for key, text in zip(REQUEST_FEATURES, (defs, op)):
        if text:
            values = [ch.encode() for ch in text] if per_character else [text.encode()]
            example.features.feature[key].bytes_list.value.extend(values)
    return example.SerializeToString(deterministic=True)


def too_long(width: int) -> str:
    return f"{TOO_LONG} {width} tokens"


def out_of_range(max_val: int) -> str:
    return f"{OUT_OF_RANGE} [-{max_val}, {max_val}], the range this model was trained on"


def answers(outputs) -> List[Dict]:
    """The signature's output tensors as one {res, confidence, error} per request."""
    res, confidence, error = (outputs[name].numpy().tolist() for name in OUTPUTS)
    return [{RES: r.decode("utf-8", "replace"), CONFIDENCE: float(c),
             ERROR: e.decode("utf-8", "replace")} for r, c, e in zip(res, confidence, error)]


def input_error(error: str) -> bool:
    """Whether an `error` output names a problem with the request (not the model's failure)."""
    return bool(error) and error != NO_INTEGER


def request_problem(serialized: bytes) -> str:
    """Why a serialized request cannot go to the model ('' if it can): the signature parses a
    whole batch at once, so one malformed tf.Example would fail every request batched with it."""
    try:
        example = example_pb2.Example.FromString(serialized)
    except Exception:  # pylint: disable=broad-except  (protobuf's DecodeError varies by backend)
        return "not a serialized tf.Example"
    for key in REQUEST_FEATURES:
        if key in example.features.feature:
            kind = example.features.feature[key].WhichOneof("kind")
            if kind not in (None, "bytes_list"):
                return f"feature {key!r} must be a bytes_list, not {kind}"
    return ""
