"""The pipeline factory: typed config, paths and Beam arguments in, a tfx Pipeline out."""
import dataclasses
import re
from typing import Callable, List, Optional

# The objects `tfx.v1` exports, imported without `tfx.v1` itself, which also imports its Google
# Cloud extensions: 3.5 s of every command's start here.
from tfx.components import (Evaluator, ExampleValidator, ImportExampleGen, Pusher, SchemaGen,
                            StatisticsGen, Trainer, Transform)
from tfx.components.schema_gen.import_schema_gen.component import ImportSchemaGen
from tfx.dsl.components.base import base_beam_component, executor_spec
from tfx.dsl.components.common.resolver import Resolver
from tfx.orchestration import metadata
from tfx.orchestration.pipeline import Pipeline
from tfx.proto import example_gen_pb2, pusher_pb2, range_config_pb2, trainer_pb2
from tfx.types import Channel, standard_artifacts

from components.atomic_pusher import executor as atomic_pusher, serving_dir as serving_layout
from components.data_gate.component import DataGate
from components.latest_pushed_model.strategy import BEFORE_SPAN, LatestPushedModelStrategy
from components.sample_generator.component import SampleGenerator
from components.sample_generator.span_writer import SPAN_PATTERN, SPLIT_NAME, next_span
from components.serving_check.component import ServingCheck
from modules import transform as transform_module
from modules.config import DataConfig, PipelineConfig
from modules.trainer import MAX_VAL, MODEL_CONFIG, SOURCE_VERSION as TRAINER_SOURCE_VERSION
from pipeline import evaluation
from pipeline.paths import Paths
from pipeline.source_version import KEY as SOURCE_VERSION, file_version, source_version
import schema

# Execution property of the Pusher: the version served when the pipeline was made.
SERVED_VERSION = "served_version"
# How far a run goes; each stage includes the ones before it.
STAGES = ("data", "train", "push")
# Makes the resolver of a model to start from (before_span > 0) or compare with (0); an
# orchestrator that cannot run Python resolvers passes its own (pipeline/vertex.py).
ModelResolver = Callable[[int], Resolver]


def split_config(data: DataConfig) -> example_gen_pb2.Output:
    buckets = [("train", data.train_buckets), ("eval", data.eval_buckets),
               ("test", data.test_buckets)]
    return example_gen_pb2.Output(split_config=example_gen_pb2.SplitConfig(splits=[
        example_gen_pb2.SplitConfig.Split(name=name, hash_buckets=count)
        for name, count in buckets if count > 0]))


def versioned(component, version: str):
    """Adds `version` (of the code the component runs) to its execution properties, and so to
    TFX's cache key: an edit re-runs the component, unchanged code reuses it. Executors ignore
    the extra property."""
    component.exec_properties[SOURCE_VERSION] = version
    return component


def span_range(span: int) -> range_config_pb2.RangeConfig:
    """Exactly one span, the configured one (not the newest one on disk)."""
    return range_config_pb2.RangeConfig(static_range=range_config_pb2.StaticRange(
        start_span_number=span, end_span_number=span))


def data_components(config: PipelineConfig, paths: Paths) -> List:
    """Generator, ExampleGen, statistics, schema, validation and the gate."""
    generator = versioned(SampleGenerator(config=config.generator, data_root=paths.data_root),
                          source_version("components.sample_generator.executor"))
    example_gen = ImportExampleGen(
        input_base=paths.data_root,
        input_config=example_gen_pb2.Input(splits=[
            example_gen_pb2.Input.Split(name=SPLIT_NAME, pattern=SPAN_PATTERN)]),
        output_config=split_config(config.data),
        range_config=span_range(config.generator.span))
    # ImportExampleGen reads files, not artifacts: order it after the generator explicitly.
    example_gen.add_upstream_node(generator)
    statistics_gen = StatisticsGen(examples=example_gen.outputs["examples"])
    if config.data.schema == "curated":
        curated = schema.path(config.data.curated_schema)
        schema_gen = versioned(ImportSchemaGen(schema_file=curated),
                               file_version(curated))
    else:
        schema_gen = SchemaGen(statistics=statistics_gen.outputs["statistics"])
    example_validator = ExampleValidator(
        statistics=statistics_gen.outputs["statistics"], schema=schema_gen.outputs["schema"])
    data_gate = versioned(DataGate(examples=example_gen.outputs["examples"],
                                   anomalies=example_validator.outputs["anomalies"]),
                          source_version("components.data_gate.component"))
    return [generator, example_gen, statistics_gen, schema_gen, example_validator, data_gate]


def model_resolver_id(before_span: int) -> str:
    return "warm_start_model_resolver" if before_span else "latest_pushed_model_resolver"


def latest_pushed_model(before_span: int = 0) -> Resolver:
    """The model users are served now (the Evaluator's baseline); with `before_span`, the last
    pushed model trained on an earlier span (where the Trainer warm-starts)."""
    return Resolver(
        strategy_class=LatestPushedModelStrategy,
        config={BEFORE_SPAN: before_span},
        model=Channel(type=standard_artifacts.Model),
        pushed_model=Channel(type=standard_artifacts.PushedModel),
    ).with_id(model_resolver_id(before_span))


def train_components(config: PipelineConfig, data: List,
                     model_resolver: ModelResolver = latest_pushed_model) -> List:
    """The model to warm-start from, Transform (tokenizing, blanking) and Trainer (the
    sliding-context model, warm-started from the last model pushed before this span unless
    model.warm_start is off)."""
    _, example_gen, _, schema_gen, _, data_gate = data
    start_from = model_resolver(config.generator.span)
    model_config = dataclasses.asdict(config.model)
    transform = versioned(Transform(
        examples=example_gen.outputs["examples"],
        schema=schema_gen.outputs["schema"],
        preprocessing_fn="modules.transform.preprocessing_fn",
        custom_config=transform_module.custom_config_for(config.model, config.generator.max_val),
        # StatisticsGen already describes the raw span; token statistics would cost a Beam pass.
        disable_statistics=True), source_version("modules.transform"))
    # Transform must not start on a span that failed validation.
    transform.add_upstream_node(data_gate)
    trainer = Trainer(
        run_fn="modules.trainer.run_fn",
        examples=transform.outputs["transformed_examples"],
        transform_graph=transform.outputs["transform_graph"],
        schema=schema_gen.outputs["schema"],
        train_args=trainer_pb2.TrainArgs(num_steps=config.model.train_steps),
        eval_args=trainer_pb2.EvalArgs(num_steps=config.model.eval_steps),
        base_model=start_from.outputs["model"] if config.model.warm_start else None,
        # The source version goes into custom_config here: run_fn keys its checkpoints by it.
        custom_config={MODEL_CONFIG: model_config, MAX_VAL: config.generator.max_val,
                       TRAINER_SOURCE_VERSION: source_version("modules.trainer")})
    return [start_from, transform, trainer]


def push_components(config: PipelineConfig, paths: Paths, data: List, train: List,
                    model_resolver: ModelResolver = latest_pushed_model,
                    served_version: Optional[str] = None) -> List:
    """Evaluator against thresholds and the served model, ServingCheck, atomic Pusher."""
    _, example_gen, *_ = data
    _, _, trainer = train
    served = model_resolver(0)
    evaluator = versioned(Evaluator(
        examples=example_gen.outputs["examples"],
        model=trainer.outputs["model"],
        baseline_model=served.outputs["model"],
        eval_config=evaluation.eval_config(config.eval),
        example_splits=[evaluation_split(config.data)]), source_version("modules.metrics"))
    serving_check = versioned(ServingCheck(
        model=trainer.outputs["model"], max_latency_ms=config.eval.max_latency_ms,
        min_canary_accuracy=config.eval.min_canary_accuracy),
        source_version("components.serving_check.executor", "components.serving_check.probe"))
    pusher = versioned(Pusher(
        model=trainer.outputs["model"],
        model_blessing=evaluator.outputs["blessing"],
        infra_blessing=serving_check.outputs["blessing"],
        push_destination=pusher_pb2.PushDestination(
            filesystem=pusher_pb2.PushDestination.Filesystem(base_directory=paths.serving_dir)),
        custom_executor_spec=executor_spec.ExecutorClassSpec(atomic_pusher.Executor),
        custom_config={atomic_pusher.KEEP_VERSIONS: config.serving.keep_versions}),
        source_version("components.atomic_pusher.executor"))
    # What is served now is part of the Pusher's decision ("already served"?): after a rollback
    # or a removed version, an unchanged run must decide again rather than reuse the old one.
    if served_version is None:
        live = serving_layout.versions(paths.serving_dir)
        served_version = str(live[-1]) if live else ""
    pusher.exec_properties[SERVED_VERSION] = served_version
    return [served, evaluator, serving_check, pusher]


def with_span(config: PipelineConfig, paths: Paths) -> PipelineConfig:
    """generator.span 0 becomes the next span under the data root: a fresh span each run."""
    if config.generator.span:
        return config
    return dataclasses.replace(config, generator=dataclasses.replace(
        config.generator, span=next_span(paths.data_root)))


def evaluation_split(data: DataConfig) -> str:
    """The held-out split that gates the push: test when there is one, else eval."""
    return "test" if data.test_buckets > 0 else "eval"


def name_beam_jobs(pipeline_name: str, components: List, beam_pipeline_args: List[str]) -> List:
    """Each Beam step gets a job name after its component, so that an engine's job list (Flink's
    REST API, Dataflow's console) says which component ran which job; unless the caller's
    arguments name the jobs themselves."""
    if any(arg.startswith("--job_name") for arg in beam_pipeline_args):
        return components
    for component in components:
        if isinstance(component, base_beam_component.BaseBeamComponent):
            name = re.sub(r"[^a-z0-9]+", "-", f"{pipeline_name}-{component.id}".lower())
            component.with_beam_pipeline_args([f"--job_name={name.strip('-')}"])
    return components


def create_pipeline(config: PipelineConfig, paths: Paths, beam_pipeline_args: List[str],
                    stage: str = "push",
                    metadata_connection_config: Optional[object] = None,
                    enable_cache: bool = True,
                    model_resolver: ModelResolver = latest_pushed_model,
                    served_version: Optional[str] = None) -> Pipeline:
    """`served_version`: the version served now, part of the Pusher's cache key; None reads it
    from `paths.serving_dir` (pipeline/vertex.py passes "": a compiled spec cannot know it)."""
    if stage not in STAGES:
        raise ValueError(f"unknown stage {stage!r}; choose one of {', '.join(STAGES)}")
    config = with_span(config.validate(), paths)
    components = data_components(config, paths)
    if STAGES.index(stage) >= STAGES.index("train"):
        data = list(components)
        train = train_components(config, data, model_resolver)
        components += train
        if stage == "push":
            components += push_components(config, paths, data, train, model_resolver,
                                          served_version)
    return Pipeline(
        pipeline_name=config.name,
        pipeline_root=paths.pipeline_root,
        components=name_beam_jobs(config.name, components, beam_pipeline_args),
        enable_cache=enable_cache,
        metadata_connection_config=metadata_connection_config
        or metadata.sqlite_metadata_connection_config(paths.metadata_path),
        beam_pipeline_args=beam_pipeline_args)
