"""The part of TF Serving's REST API that a client of this model uses, as plain functions:
URL paths in, request bodies to serialized tf.Examples, model outputs to response bodies.
Reference: https://www.tensorflow.org/tfx/serving/api_rest

A predict request carries `instances` (row format) or `inputs` (columnar format). The model's
one input is `examples`, serialized tf.Examples, which a TF Serving client sends base64-encoded
(`{"b64": "..."}`, or `{"examples": {"b64": "..."}}`); for convenience an instance may also be
`{"defs": "x=3,y=4", "op": "x+y"}`, which this server turns into that tf.Example.
"""
import base64
import binascii
import json
import re
from typing import Any, Dict, List, NamedTuple, Optional

from modules import serving_contract
from modules.serving_contract import ERROR, INPUT, OUTPUTS, REQUEST_FEATURES

MAX_INSTANCES = 1024
MAX_FIELD_CHARS = 256  # far beyond any expression the model takes; longer is an error

# The methods each resource takes, as a 405's and an OPTIONS answer's Allow header lists them;
# HEAD is GET without the body. (TF Serving answers 400 "Malformed request" to any other method.)
METHODS = {"status": ("GET", "HEAD", "OPTIONS"), "metadata": ("GET", "HEAD", "OPTIONS"),
           "predict": ("POST", "OPTIONS")}
ALL_METHODS = ("GET", "HEAD", "POST", "OPTIONS")

_PATH = re.compile(r"/v1/models/(?P<name>[^/:]+)(?:/versions/(?P<version>[^/:]+))?"
                   r"(?P<action>:predict|/metadata)?")


class RequestError(Exception):
    """A request the server refuses: an HTTP status, a message naming the problem and the
    headers that status calls for (a 405's Allow)."""

    def __init__(self, status: int, message: str, headers: Optional[Dict[str, str]] = None):
        super().__init__(message)
        self.status = status
        self.headers = headers or {}


class Route(NamedTuple):
    model: str
    version: Optional[int]
    action: str  # "status", "predict" or "metadata"


class Predict(NamedTuple):
    examples: List[bytes]
    columnar: bool  # answered in the format it came in


def route(path: str) -> Route:
    match = _PATH.fullmatch(path.split("?", 1)[0])
    if match is None:
        raise RequestError(404, f"no such resource: {path} (try /v1/models/<name>, "
                                "/v1/models/<name>:predict or /v1/models/<name>/metadata)")
    version = match["version"]
    if version is not None and not re.fullmatch(r"[0-9]{1,19}", version):
        raise RequestError(400, f"version must be a number, got {version!r}")
    action = {":predict": "predict", "/metadata": "metadata"}.get(match["action"], "status")
    return Route(match["name"], int(version) if version is not None else None, action)


def parse_predict(body: bytes) -> Predict:
    """The serialized tf.Examples of a predict request body; RequestError names what is wrong."""
    try:
        request = json.loads(body)
    except (UnicodeDecodeError, ValueError) as error:
        raise RequestError(400, f"the body is not valid JSON: {error}") from None
    except RecursionError:
        raise RequestError(400, "the body is not valid JSON: nested too deeply") from None
    if not isinstance(request, dict):
        raise RequestError(400, "the body must be a JSON object with 'instances' or 'inputs'")
    signature = request.get("signature_name", serving_contract.SIGNATURE)
    if signature != serving_contract.SIGNATURE:
        raise RequestError(400, f"Serving signature name: {signature!r} not found in signature "
                                f"def (this model has {serving_contract.SIGNATURE!r})")
    unknown = sorted(set(request) - {"signature_name", "instances", "inputs"})
    if unknown:
        raise RequestError(400, f"unknown request fields: {', '.join(unknown)}")
    if ("instances" in request) == ("inputs" in request):
        raise RequestError(400, "the body must have exactly one of 'instances' (row format) "
                                "and 'inputs' (columnar format)")
    if "instances" in request:
        return Predict(_instances(request["instances"]), columnar=False)
    return Predict(_inputs(request["inputs"]), columnar=True)


def _instances(instances: Any) -> List[bytes]:
    if not isinstance(instances, list) or not instances:
        raise RequestError(400, "'instances' must be a non-empty list")
    _check_count(len(instances))
    examples = []
    for index, instance in enumerate(instances):
        where = f"instance {index}"
        if isinstance(instance, dict) and set(instance) == {INPUT}:
            examples.append(_example_bytes(instance[INPUT], where))
        elif isinstance(instance, dict) and set(instance) == set(REQUEST_FEATURES):
            examples.append(_expression(instance, where))
        elif isinstance(instance, dict) and set(instance) == {"b64"}:
            examples.append(_example_bytes(instance, where))
        else:
            raise RequestError(400, f"{where}: expected an object with 'defs' and 'op' "
                                    f"(e.g. {{\"defs\": \"x=3,y=4\", \"op\": \"x+y\"}}) or a "
                                    f"serialized tf.Example as {{\"b64\": ...}}; got "
                                    f"{_brief(instance)}")
    return examples


def _inputs(inputs: Any) -> List[bytes]:
    if isinstance(inputs, list):  # the signature's one input, unnamed
        inputs = {INPUT: inputs}
    if not isinstance(inputs, dict):
        raise RequestError(400, "'inputs' must be an object of equally long lists")
    if set(inputs) == {INPUT}:
        values = _column(inputs, INPUT)
        return [_example_bytes(value, f"{INPUT}[{i}]") for i, value in enumerate(values)]
    if set(inputs) != set(REQUEST_FEATURES):
        raise RequestError(400, f"'inputs' must have {INPUT!r}, or 'defs' and 'op'; got "
                                f"{', '.join(sorted(map(str, inputs))) or 'nothing'}")
    columns = [_column(inputs, key) for key in REQUEST_FEATURES]
    if len({len(column) for column in columns}) != 1:
        raise RequestError(400, "'inputs': 'defs' and 'op' must be lists of the same length")
    return [_expression(dict(zip(REQUEST_FEATURES, row)), f"row {i}")
            for i, row in enumerate(zip(*columns))]


def _column(inputs: Dict, key: str) -> List:
    values = inputs[key]
    if not isinstance(values, list) or not values:
        raise RequestError(400, f"'inputs'[{key!r}] must be a non-empty list")
    _check_count(len(values))
    return values


def _check_count(count: int) -> None:
    if count > MAX_INSTANCES:
        raise RequestError(400, f"{count} instances in one request; at most {MAX_INSTANCES}")


def _expression(instance: Dict, where: str) -> bytes:
    for key in REQUEST_FEATURES:
        value = instance[key]
        if not isinstance(value, str):
            raise RequestError(400, f"{where}: {key!r} must be a string, got {_brief(value)}")
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise RequestError(400, f"{where}: {key!r} is not valid Unicode text") from None
        if len(value) > MAX_FIELD_CHARS:
            raise RequestError(400, f"{where}: {key!r} is {len(value)} characters long; the "
                                    f"model takes far shorter expressions")
    return serving_contract.request(instance[REQUEST_FEATURES[0]], instance[REQUEST_FEATURES[1]])


def _example_bytes(value: Any, where: str) -> bytes:
    if not (isinstance(value, dict) and set(value) == {"b64"} and isinstance(value["b64"], str)):
        raise RequestError(400, f"{where}: a serialized tf.Example must be sent as "
                                f"{{\"b64\": \"<base64>\"}}, got {_brief(value)}")
    try:
        serialized = base64.b64decode(value["b64"], validate=True)
    except (binascii.Error, ValueError):
        raise RequestError(400, f"{where}: 'b64' is not valid base64") from None
    problem = serving_contract.request_problem(serialized)
    if problem:
        raise RequestError(400, f"{where}: {problem}")
    return serialized


def _brief(value: Any) -> str:
    text = json.dumps(value)
    return text if len(text) <= 80 else text[:77] + "..."


def predict_body(answers: List[Dict[str, Any]], columnar: bool) -> Dict[str, Any]:
    """The response to a predict request, or RequestError for the first instance whose input the
    model refused (TF Serving fails a request as a whole)."""
    for index, answer in enumerate(answers):
        if serving_contract.input_error(answer[ERROR]):
            raise RequestError(400, f"instance {index}: {answer[ERROR]}")
    if columnar:
        return {"outputs": {name: [answer[name] for answer in answers] for name in OUTPUTS}}
    return {"predictions": answers}


def status_body(versions: List[int]) -> Dict[str, Any]:
    """GET /v1/models/<name>[/versions/N]: the versions loaded and serving."""
    return {"model_version_status": [
        {"version": str(version), "state": "AVAILABLE",
         "status": {"error_code": "OK", "error_message": ""}} for version in versions]}


def error_body(message: str) -> Dict[str, str]:
    return {"error": message}
