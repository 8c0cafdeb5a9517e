"""Compiles the pipeline for Vertex AI Pipelines: a KFP v2 pipeline spec (JSON) written by TFX's
KubeflowV2DagRunner. Every component runs in one container image that has this project installed
at IMAGE_PROJECT_DIR (the Dockerfile at the repository root builds it), and every path the
pipeline writes lies under a pipeline root on cloud storage, laid out as `Paths` says."""
import json
import os
import re
from typing import List

from ml_metadata.proto import metadata_store_pb2
from tfx import v1 as tfx
from tfx.dsl.io import fileio
from tfx.orchestration.kubeflow.v2 import kubeflow_v2_dag_runner

from modules.config import PipelineConfig
from pipeline import factory
from pipeline.paths import Paths

# Where the image has the project: the Dockerfile's ARG PROJECT_DIR (tests check they agree).
IMAGE_PROJECT_DIR = "/arith-tfx"
# This checkout (or installation): its files are at IMAGE_PROJECT_DIR inside the image.
CHECKOUT_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# A URI that every Vertex worker can reach: scheme://bucket/..., a local file:// path excluded.
_REMOTE_URI = re.compile(r"^(?!file://)[a-z][a-z0-9+.-]*://[^/\s]+")


class CompileError(ValueError):
    """An option of `arith-tfx compile` is missing or malformed; the message names it."""


def compile_pipeline(config: PipelineConfig, beam_pipeline_args: List[str], image: str,
                     pipeline_root: str, output_file: str) -> str:
    """Writes the pipeline spec of the whole pipeline (stage push) to `output_file`; returns it.

    `pipeline_root` is the root of everything a run writes, as `--root` is for a local run:
    the data under `<pipeline_root>/data`, TFX's artifacts under `<pipeline_root>/pipeline`
    (the spec's pipeline root) and the pushed models under `<pipeline_root>/serving`."""
    check_options(config, image, pipeline_root, output_file)
    pipeline = vertex_pipeline(config, beam_pipeline_args, pipeline_root)
    runner = kubeflow_v2_dag_runner.KubeflowV2DagRunner(
        config=kubeflow_v2_dag_runner.KubeflowV2DagRunnerConfig(default_image=image))
    spec = runner.run(pipeline, write_out=False)
    refuse_local_paths(spec)
    write_json(spec, output_file)
    return output_file


def check_options(config: PipelineConfig, image: str, pipeline_root: str,
                  output_file: str) -> None:
    if not image or image.strip() != image:
        raise CompileError(f"--image must name the container image that runs every component "
                           f"(built from the Dockerfile), not {image!r}")
    if not _REMOTE_URI.match(pipeline_root or ""):
        raise CompileError(f"--pipeline-root must be a cloud storage URI such as "
                           f"gs://BUCKET/PATH, which every Vertex worker can reach, not "
                           f"{pipeline_root!r}")
    if not output_file:
        raise CompileError("--output must name the file to write the pipeline spec to")
    # Span 0 means "the next span under the data root", which the factory looks up when it
    # builds the pipeline: a compiled spec would fix that span for every later run.
    if not config.generator.span:
        raise CompileError("a compiled pipeline needs a fixed span: pass "
                           "--set generator.span=N (N >= 1); generator.span=0 (the next span) "
                           "is looked up when the pipeline is built, not when it runs")


def vertex_pipeline(config: PipelineConfig, beam_pipeline_args: List[str],
                    pipeline_root: str) -> tfx.dsl.Pipeline:
    pipeline = factory.create_pipeline(
        config, Paths(pipeline_root.rstrip("/")), [in_image_arg(arg) for arg in beam_pipeline_args],
        stage="push",
        # Vertex keeps its own metadata store and the V2 runner ignores this; an empty config
        # only keeps the factory from defaulting to a SQLite file under the pipeline root.
        metadata_connection_config=metadata_store_pb2.ConnectionConfig(),
        model_resolver=latest_blessed_model,
        served_version="")
    for component in pipeline.components:
        for key, value in component.exec_properties.items():
            if isinstance(value, str):
                component.exec_properties[key] = in_image(value)
    return pipeline


def latest_blessed_model(before_span: int) -> tfx.dsl.Resolver:
    """Vertex's stand-in for factory.latest_pushed_model. Vertex resolves inputs by metadata
    queries, not Python, so only TFX's built-in strategies compile; the nearest is the latest
    model the Evaluator blessed. Unlike the local one it may be a model that ServingCheck then
    refused, and the warm start does not look at spans (`before_span` only names it)."""
    return tfx.dsl.Resolver(
        strategy_class=tfx.dsl.experimental.LatestBlessedModelStrategy,
        model=tfx.dsl.Channel(type=tfx.types.standard_artifacts.Model),
        model_blessing=tfx.dsl.Channel(type=tfx.types.standard_artifacts.ModelBlessing),
    ).with_id(factory.model_resolver_id(before_span))


def in_image(value: str) -> str:
    """A path into this checkout as the image sees it (e.g. the curated schema); any other
    value unchanged."""
    if value == CHECKOUT_DIR or value.startswith(CHECKOUT_DIR + os.sep):
        return IMAGE_PROJECT_DIR + value[len(CHECKOUT_DIR):]
    return value


def in_image_arg(arg: str) -> str:
    """`--flag=VALUE` with VALUE in_image (e.g. Dataflow's --setup_file)."""
    flag, equals, value = arg.partition("=")
    return flag + equals + in_image(value) if equals else arg


def refuse_local_paths(spec: dict) -> None:
    """No component on Vertex can read this machine's files: a path into the checkout that the
    remapping above missed (e.g. inside a JSON-encoded property) would fail only at run time."""
    text = json.dumps(spec)
    if CHECKOUT_DIR != IMAGE_PROJECT_DIR and CHECKOUT_DIR + os.sep in text:
        start = text.index(CHECKOUT_DIR + os.sep)
        raise CompileError(f"the pipeline spec refers to a file of this checkout, which Vertex "
                           f"cannot read: ...{text[max(0, start - 80):start + 120]}...")


def write_json(spec: dict, output_file: str) -> None:
    folder = os.path.dirname(output_file)
    if folder and not fileio.exists(folder):
        fileio.makedirs(folder)
    with fileio.open(output_file, "w") as f:
        json.dump(spec, f, sort_keys=True, indent=1)
