"""TF Serving's REST request and response formats, as `arith-tfx serve` reads and writes them."""
import base64
import json

import pytest
from tensorflow.core.example import example_pb2

from modules import serving_contract
from pipeline.serving import rest
from pipeline.serving.rest import RequestError


def _body(value) -> bytes:
    return json.dumps(value).encode()


def _b64(serialized: bytes) -> dict:
    return {"b64": base64.b64encode(serialized).decode()}


def _fields(serialized: bytes) -> dict:
    example = example_pb2.Example.FromString(serialized)
    return {key: b"".join(feature.bytes_list.value).decode()
            for key, feature in example.features.feature.items()}


@pytest.mark.parametrize("path,expected", [
    ("/v1/models/arith", rest.Route("arith", None, "status")),
    ("/v1/models/arith/versions/17", rest.Route("arith", 17, "status")),
    ("/v1/models/arith:predict", rest.Route("arith", None, "predict")),
    ("/v1/models/arith/versions/17:predict", rest.Route("arith", 17, "predict")),
    ("/v1/models/arith/metadata", rest.Route("arith", None, "metadata")),
])
def test_routes_follow_tf_serving(path, expected):
    assert rest.route(path) == expected


@pytest.mark.parametrize("path,status", [("/v1/models", 404), ("/predict", 404),
                                         ("/v1/models/arith:classify", 404),
                                         ("/v1/models/arith/versions/abc:predict", 400),
                                         ("/v1/models/arith/versions/\u00b2:predict", 400),
                                         ("/v1/models/arith/versions/" + "9" * 5000, 400)])
def test_unknown_routes_are_refused(path, status):
    with pytest.raises(RequestError) as refused:
        rest.route(path)
    assert refused.value.status == status


def test_every_resource_names_the_methods_it_takes():
    actions = {rest.route(path).action for path in
               ("/v1/models/arith", "/v1/models/arith:predict", "/v1/models/arith/metadata")}
    assert set(rest.METHODS) == actions
    assert set(rest.ALL_METHODS) == {method for methods in rest.METHODS.values()
                                     for method in methods}


def test_the_three_instance_forms_make_the_same_example():
    expression = serving_contract.request("x=3,y=4", "x+y")
    parsed = rest.parse_predict(_body({"instances": [
        {"defs": "x=3,y=4", "op": "x+y"}, _b64(expression), {"examples": _b64(expression)}]}))
    assert parsed.columnar is False
    assert [_fields(e) for e in parsed.examples] == [{"defs": "x=3,y=4", "op": "x+y"}] * 3


def test_columnar_inputs_are_answered_in_columns():
    parsed = rest.parse_predict(_body({"inputs": {"defs": ["x=1,y=2", "y=5,x=0"],
                                                  "op": ["x*y", "y-x"]}}))
    assert parsed.columnar is True
    assert [_fields(e)["op"] for e in parsed.examples] == ["x*y", "y-x"]
    answers = [{"res": "2", "confidence": 0.9, "error": ""},
               {"res": "5", "confidence": 0.8, "error": ""}]
    assert rest.predict_body(answers, True) == {"outputs": {
        "res": ["2", "5"], "confidence": [0.9, 0.8], "error": ["", ""]}}
    assert rest.predict_body(answers, False) == {"predictions": answers}


@pytest.mark.parametrize("body,message", [
    (b"{not json", "not valid JSON"),
    (b"\xff\xfe", "not valid JSON"),
    (b"[" * 100_000, "nested too deeply"),
    (b'{"instances": [{"defs": "\\ud800", "op": "x+y"}]}', "'defs' is not valid Unicode text"),
    (_body([1, 2]), "JSON object"),
    (_body({"instances": []}), "non-empty list"),
    (_body({"instances": [{"defs": "x=1,y=2"}]}), "instance 0: expected an object with 'defs'"),
    (_body({"instances": [{"defs": "x=1,y=2", "op": 7}]}), "'op' must be a string"),
    (_body({"instances": [{"defs": "x=" + "1" * 300 + ",y=2", "op": "x+y"}]}),
     "'defs' is 306 characters long"),
    (_body({"instances": [{"b64": "%%%"}]}), "not valid base64"),
    (_body({"instances": [{"b64": base64.b64encode(b"\x0a\x05garbage").decode()}]}),
     "not a serialized tf.Example"),
    (_body({"instances": [{"defs": "x=1,y=2", "op": "x+y"}], "inputs": {}}), "exactly one of"),
    (_body({"instances": [{"defs": "x=1,y=2", "op": "x+y"}], "signature_name": "evaluate"}),
     "'evaluate' not found"),
    (_body({"instances": [{"defs": "x=1,y=2", "op": "x+y"}], "extra": 1}),
     "unknown request fields: extra"),
    (_body({"inputs": {"defs": ["x=1,y=2"], "op": ["x+y", "x-y"]}}), "same length"),
    (_body({"instances": [{"defs": "x=1,y=2", "op": "x+y"}] * (rest.MAX_INSTANCES + 1)}),
     f"at most {rest.MAX_INSTANCES}"),
])
def test_malformed_requests_name_the_problem(body, message):
    with pytest.raises(RequestError, match=message.replace("(", r"\(").replace("*", r"\*")) \
            as refused:
        rest.parse_predict(body)
    assert refused.value.status == 400


def test_an_example_whose_feature_has_the_wrong_type_is_refused_before_the_model():
    example = example_pb2.Example()
    example.features.feature["defs"].int64_list.value.append(3)
    with pytest.raises(RequestError, match="'defs' must be a bytes_list, not int64_list"):
        rest.parse_predict(_body({"instances": [_b64(example.SerializeToString())]}))


def test_an_input_the_model_refused_fails_the_request_but_no_integer_does_not():
    refused = [{"res": "", "confidence": 0.0, "error": ""},
               {"res": "", "confidence": 0.0, "error": "unknown character (allowed: ...)"}]
    with pytest.raises(RequestError, match="instance 1: unknown character") as error:
        rest.predict_body(refused, False)
    assert error.value.status == 400
    no_integer = [{"res": "1-", "confidence": 0.0, "error": serving_contract.NO_INTEGER}]
    assert rest.predict_body(no_integer, False) == {"predictions": no_integer}
