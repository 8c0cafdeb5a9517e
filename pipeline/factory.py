"""The pipeline factory: typed config, paths and Beam arguments in, a tfx Pipeline out."""
import dataclasses
from typing import List, Optional

from tfx import v1 as tfx
from tfx.dsl.components.base import executor_spec
from tfx.proto import example_gen_pb2

from components.atomic_pusher import executor as atomic_pusher
from components.data_gate.component import DataGate
from components.latest_pushed_model.strategy import LatestPushedModelStrategy
from components.sample_generator.component import SampleGenerator
from components.sample_generator.span_writer import SPAN_PATTERN, next_span
from components.serving_check.component import ServingCheck
from modules.trainer import MAX_VAL, MODEL_CONFIG
from pipeline import evaluation
from modules.config import DataConfig, PipelineConfig
from pipeline.paths import Paths
from schema import CURATED_SCHEMA

# How far a run goes; each stage includes the ones before it.
STAGES = ("data", "train", "push")


def split_config(data: DataConfig) -> example_gen_pb2.Output:
    buckets = [("train", data.train_buckets), ("eval", data.eval_buckets),
               ("test", data.test_buckets)]
    return example_gen_pb2.Output(split_config=example_gen_pb2.SplitConfig(splits=[
        example_gen_pb2.SplitConfig.Split(name=name, hash_buckets=count)
        for name, count in buckets if count > 0]))


def data_components(config: PipelineConfig, paths: Paths) -> List:
    """Generator, ExampleGen, statistics, schema, validation and the gate."""
    generator = SampleGenerator(config=config.generator, data_root=paths.data_root)
    example_gen = tfx.components.ImportExampleGen(
        input_base=paths.data_root,
        input_config=example_gen_pb2.Input(splits=[
            example_gen_pb2.Input.Split(name="span", pattern=SPAN_PATTERN)]),
        output_config=split_config(config.data))
    # ImportExampleGen reads files, not artifacts: order it after the generator explicitly.
    example_gen.add_upstream_node(generator)
    statistics_gen = tfx.components.StatisticsGen(examples=example_gen.outputs["examples"])
    if config.data.schema == "curated":
        schema_gen = tfx.components.ImportSchemaGen(schema_file=CURATED_SCHEMA)
    else:
        schema_gen = tfx.components.SchemaGen(statistics=statistics_gen.outputs["statistics"])
    example_validator = tfx.components.ExampleValidator(
        statistics=statistics_gen.outputs["statistics"], schema=schema_gen.outputs["schema"])
    data_gate = DataGate(examples=example_gen.outputs["examples"],
                         anomalies=example_validator.outputs["anomalies"])
    return [generator, example_gen, statistics_gen, schema_gen, example_validator, data_gate]


def latest_pushed_model() -> tfx.dsl.Resolver:
    """The model users are served now: the Trainer warm-starts from it, the Evaluator compares
    the candidate with it."""
    return tfx.dsl.Resolver(
        strategy_class=LatestPushedModelStrategy,
        model=tfx.dsl.Channel(type=tfx.types.standard_artifacts.Model),
        pushed_model=tfx.dsl.Channel(type=tfx.types.standard_artifacts.PushedModel),
    ).with_id("latest_pushed_model_resolver")


def train_components(config: PipelineConfig, data: List) -> List:
    """The last pushed model, Transform (tokenizing, blanking) and Trainer (the sliding-context
    model, warm-started from the last pushed one unless model.warm_start is off)."""
    _, example_gen, _, schema_gen, _, data_gate = data
    pushed = latest_pushed_model()
    model_config = dataclasses.asdict(config.model)
    transform = tfx.components.Transform(
        examples=example_gen.outputs["examples"],
        schema=schema_gen.outputs["schema"],
        preprocessing_fn="modules.transform.preprocessing_fn",
        custom_config={**model_config, MAX_VAL: config.generator.max_val},
        # StatisticsGen already describes the raw span; token statistics would cost a Beam pass.
        disable_statistics=True)
    # Transform must not start on a span that failed validation.
    transform.add_upstream_node(data_gate)
    trainer = tfx.components.Trainer(
        run_fn="modules.trainer.run_fn",
        examples=transform.outputs["transformed_examples"],
        transform_graph=transform.outputs["transform_graph"],
        schema=schema_gen.outputs["schema"],
        train_args=tfx.proto.TrainArgs(num_steps=config.model.train_steps),
        eval_args=tfx.proto.EvalArgs(num_steps=config.model.eval_steps),
        base_model=pushed.outputs["model"] if config.model.warm_start else None,
        custom_config={MODEL_CONFIG: model_config, MAX_VAL: config.generator.max_val})
    return [pushed, transform, trainer]


def push_components(config: PipelineConfig, paths: Paths, data: List, train: List) -> List:
    """Evaluator against thresholds and the last pushed model, ServingCheck, atomic Pusher."""
    _, example_gen, *_ = data
    pushed, _, trainer = train
    evaluator = tfx.components.Evaluator(
        examples=example_gen.outputs["examples"],
        model=trainer.outputs["model"],
        baseline_model=pushed.outputs["model"],
        eval_config=evaluation.eval_config(config.eval),
        example_splits=[evaluation_split(config.data)])
    serving_check = ServingCheck(
        model=trainer.outputs["model"], max_latency_ms=config.eval.max_latency_ms,
        min_canary_accuracy=config.eval.min_canary_accuracy)
    pusher = tfx.components.Pusher(
        model=trainer.outputs["model"],
        model_blessing=evaluator.outputs["blessing"],
        infra_blessing=serving_check.outputs["blessing"],
        push_destination=tfx.proto.PushDestination(
            filesystem=tfx.proto.PushDestination.Filesystem(base_directory=paths.serving_dir)),
        custom_executor_spec=executor_spec.ExecutorClassSpec(atomic_pusher.Executor),
        custom_config={atomic_pusher.KEEP_VERSIONS: config.serving.keep_versions})
    return [evaluator, serving_check, pusher]


def with_span(config: PipelineConfig, paths: Paths) -> PipelineConfig:
    """generator.span 0 becomes the next span under the data root: a fresh span each run."""
    if config.generator.span:
        return config
    return dataclasses.replace(config, generator=dataclasses.replace(
        config.generator, span=next_span(paths.data_root)))


def evaluation_split(data: DataConfig) -> str:
    """The held-out split that gates the push: test when there is one, else eval."""
    return "test" if data.test_buckets > 0 else "eval"


def create_pipeline(config: PipelineConfig, paths: Paths, beam_pipeline_args: List[str],
                    stage: str = "push",
                    metadata_connection_config: Optional[object] = None) -> tfx.dsl.Pipeline:
    if stage not in STAGES:
        raise ValueError(f"unknown stage {stage!r}; choose one of {', '.join(STAGES)}")
    config = with_span(config.validate(), paths)
    components = data_components(config, paths)
    if STAGES.index(stage) >= STAGES.index("train"):
        data = list(components)
        train = train_components(config, data)
        components += train
        if stage == "push":
            components += push_components(config, paths, data, train)
    return tfx.dsl.Pipeline(
        pipeline_name=config.name,
        pipeline_root=paths.pipeline_root,
        components=components,
        enable_cache=True,
        metadata_connection_config=metadata_connection_config
        or tfx.orchestration.metadata.sqlite_metadata_connection_config(paths.metadata_path),
        beam_pipeline_args=beam_pipeline_args)
