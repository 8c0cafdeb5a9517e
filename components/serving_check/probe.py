"""Runs in a fresh process: loads a SavedModel, answers the canaries, prints a JSON report.

Usage: python -m components.serving_check.probe MODEL_DIR REPEATS
"""
import json
import sys
import time

import tensorflow as tf

from components.serving_check import canaries
from modules import export, features


def _request(canary: canaries.Canary) -> bytes:
    feature = {}
    for key, text in ((features.DEFS, canary.defs), (features.OP, canary.op)):
        if text:  # an empty field is left out, as a client that forgot it would
            feature[key] = tf.train.Feature(bytes_list=tf.train.BytesList(value=[text.encode()]))
    return tf.train.Example(features=tf.train.Features(feature=feature)).SerializeToString()


def _answers(outputs) -> list:
    return [{"res": res.decode(), "confidence": float(confidence), "error": error.decode()}
            for res, confidence, error in zip(outputs["res"].numpy(),
                                              outputs["confidence"].numpy(),
                                              outputs["error"].numpy())]


def probe(model_dir: str, repeats: int) -> dict:
    serve = tf.saved_model.load(model_dir).signatures[export.SERVING]
    requests = [_request(canary) for canary in canaries.ALL]
    together = _answers(serve(examples=tf.constant(requests)))
    alone, latencies = [], []
    for request in requests:
        alone += _answers(serve(examples=tf.constant([request])))  # also the warm-up
    for _ in range(repeats):
        for request in requests:
            started = time.perf_counter()
            serve(examples=tf.constant([request]))
            latencies.append((time.perf_counter() - started) * 1000)
    return {"batch_n": together, "batch_1": alone, "latencies_ms": latencies}


if __name__ == "__main__":
    print(json.dumps(probe(sys.argv[1], int(sys.argv[2]))))
