"""The serving contract of the exported SavedModel, in one place: its signature and input, its
outputs, the request a client sends and the answer that is not an input error. Plain protobuf,
no Keras, so that ServingCheck's probe, `predict` and `serve` read it cheaply."""
from tensorflow.core.example import example_pb2

from modules import features

SIGNATURE = "serving_default"
INPUT = "examples"  # serialized tf.Examples with the `defs` and `op` features
OUTPUTS = ("res", "confidence", "error")
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
