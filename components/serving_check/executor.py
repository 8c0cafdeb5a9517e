"""ServingCheck's executor: probes the model in a fresh process, checks the answers, and writes
an InfraBlessing the way TFX's InfraValidator does (marker file and `blessed` = 1 or 0)."""
import json
import logging
import math
import os
import signal
import subprocess
import sys
from typing import Any, Dict, List

from tfx import types
from tfx.dsl.components.base import base_executor
from tfx.dsl.io import fileio
from tfx.types import artifact_utils
from tfx.utils import io_utils, path_utils

from components.serving_check import canaries, probe, spec

# The directory that holds `components/`, so the probe imports this code wherever it runs.
_PROJECT_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
_STDERR_TAIL = 20


def validate_parameters(exec_properties: Dict[str, Any]) -> Dict[str, Any]:
    """The parameters with defaults filled in; ValueError naming the first bad value."""
    values = {key: exec_properties.get(key, default) for key, default in spec.DEFAULTS.items()}

    def number(key, kind):
        try:
            value = kind(values[key])
        except (TypeError, ValueError):
            raise ValueError(f"{key}={values[key]!r} is not a number") from None
        if kind is int and value != values[key]:
            raise ValueError(f"{key}={values[key]!r} must be a whole number")
        return value

    checked = {spec.MAX_LATENCY_MS: number(spec.MAX_LATENCY_MS, float),
               spec.MIN_CANARY_ACCURACY: number(spec.MIN_CANARY_ACCURACY, float),
               spec.TIMEOUT_SECONDS: number(spec.TIMEOUT_SECONDS, int),
               spec.REPEATS: number(spec.REPEATS, int)}
    if not (math.isfinite(checked[spec.MAX_LATENCY_MS]) and checked[spec.MAX_LATENCY_MS] > 0):
        raise ValueError(f"{spec.MAX_LATENCY_MS}={values[spec.MAX_LATENCY_MS]!r} must be a "
                         "positive number of milliseconds")
    if not 0.0 <= checked[spec.MIN_CANARY_ACCURACY] <= 1.0:
        raise ValueError(f"{spec.MIN_CANARY_ACCURACY}={values[spec.MIN_CANARY_ACCURACY]!r} "
                         "must be in [0, 1]")
    for key in (spec.TIMEOUT_SECONDS, spec.REPEATS):
        if checked[key] < 1:
            raise ValueError(f"{key}={values[key]!r} must be at least 1")
    return checked


def run_probe(model_dir: str, repeats: int, timeout_seconds: int) -> Dict:
    """The probe's report, or {"failed": check, "reason": why} if it gave none."""
    command = [sys.executable, "-m", probe.__name__, model_dir, str(repeats)]
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2",
               PYTHONPATH=os.pathsep.join(p for p in (_PROJECT_ROOT, os.environ.get("PYTHONPATH"))
                                          if p))
    # Its own process group, so that a timeout kills anything it started too.
    with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                          env=env, cwd=_PROJECT_ROOT, start_new_session=True) as process:
        try:
            stdout, stderr = process.communicate(timeout=timeout_seconds)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.communicate()
            return {"failed": canaries.LOADS,
                    "reason": f"the model did not load and answer the canaries within "
                              f"timeout_seconds={timeout_seconds} (probe killed)"}
    tail = stderr.strip().splitlines()[-_STDERR_TAIL:]
    reports = [line[len(probe.MARKER):] for line in stdout.splitlines()
               if line.startswith(probe.MARKER)]
    if process.returncode != 0 or not reports:
        if process.returncode < 0:
            how = f"was killed by {signal.Signals(-process.returncode).name}"
        else:
            how = f"exited with code {process.returncode} without a report"
        last = next((line.strip() for line in reversed(tail) if line.strip()), "no output")
        return {"failed": canaries.LOADS, "stderr_tail": tail,
                "reason": f"the process loading and serving the model {how}: {last[:300]}"}
    return json.loads(reports[-1])


def check_model(model_dir: str, parameters: Dict[str, Any]) -> Dict:
    """The full report: parameters, probe results, named checks and failures."""
    answers = run_probe(model_dir, parameters[spec.REPEATS], parameters[spec.TIMEOUT_SECONDS])
    if "failed" in answers:
        result = canaries.failed(answers["failed"], answers["reason"])
        details = {"stderr_tail": answers.get("stderr_tail", [])}
    else:
        result = canaries.evaluate(
            answers["batch_1"], answers["batch_n"], answers["batch_n_raised"],
            answers["latencies_ms"], parameters[spec.MAX_LATENCY_MS],
            parameters[spec.MIN_CANARY_ACCURACY], answers.get("latency_raised", ""))
        details = {key: answers[key] for key in ("load_seconds", "tensorflow", "latencies_ms")}
    return {"blessed": not result["failed_checks"], "model_dir": model_dir,
            "parameters": parameters, **result, **details}


def _mark(blessing: types.Artifact, blessed: bool) -> None:
    """As TFX's InfraValidator: an empty marker file and the `blessed` custom property."""
    marker, other = ((spec.BLESSED_FILE, spec.NOT_BLESSED_FILE) if blessed
                     else (spec.NOT_BLESSED_FILE, spec.BLESSED_FILE))
    if fileio.exists(os.path.join(blessing.uri, other)):
        fileio.remove(os.path.join(blessing.uri, other))
    io_utils.write_string_file(os.path.join(blessing.uri, marker), "")
    blessing.set_int_custom_property(spec.BLESSED, int(blessed))


def summary(report: Dict) -> str:
    measured = (f"{report['canaries_correct']} of {report['canaries_valid']} valid canaries "
                "answered right")
    if report["p50_ms"] is not None:
        measured += f", batch-1 latency p50 {report['p50_ms']:.1f} ms, max {report['max_ms']:.1f} ms"
    if report["blessed"]:
        return f"ServingCheck: model blessed ({measured})"
    return (f"ServingCheck: model NOT blessed; failed checks: {', '.join(report['failed_checks'])}"
            f" ({measured})\n  " + "\n  ".join(report["failures"]))


class Executor(base_executor.BaseExecutor):
    """Blesses the model only if every check of canaries.CHECKS passes."""

    def Do(self, input_dict: Dict[str, List[types.Artifact]],
           output_dict: Dict[str, List[types.Artifact]],
           exec_properties: Dict[str, Any]) -> None:
        parameters = validate_parameters(exec_properties)
        model = artifact_utils.get_single_instance(input_dict[spec.MODEL])
        blessing = artifact_utils.get_single_instance(output_dict[spec.BLESSING])
        model_dir = path_utils.serving_model_path(model.uri)
        logging.info("ServingCheck: probing %s in a fresh process (timeout %d s)", model_dir,
                     parameters[spec.TIMEOUT_SECONDS])
        report = check_model(model_dir, parameters)

        fileio.makedirs(blessing.uri)
        with fileio.open(os.path.join(blessing.uri, spec.REPORT), "w") as f:
            json.dump(report, f, indent=1)
        blessing.set_int_custom_property(spec.CANARIES_CORRECT, report["canaries_correct"])
        blessing.set_int_custom_property(spec.CANARIES_VALID, report["canaries_valid"])
        if report["p50_ms"] is not None:
            blessing.set_float_custom_property(spec.P50_MS, report["p50_ms"])
            blessing.set_float_custom_property(spec.MAX_MS, report["max_ms"])
        blessing.set_string_custom_property(spec.FAILED_CHECKS, ",".join(report["failed_checks"]))
        _mark(blessing, report["blessed"])
        for warning in report["warnings"]:
            logging.warning("ServingCheck: %s", warning)
        if report["blessed"]:
            logging.info(summary(report))
        else:
            logging.warning(summary(report))
