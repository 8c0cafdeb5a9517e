"""The pipeline factory, compiled to TFX's IR without running: what goes into each component's
cache key."""
import pytest
from tfx.dsl.compiler import compiler

from modules import config
from pipeline import factory
from pipeline.paths import Paths
from pipeline.source_version import KEY as SOURCE_VERSION


def _parameters(cfg, tmp_path, **kwargs):
    pipeline = factory.create_pipeline(cfg, Paths(str(tmp_path)), [], **kwargs)
    ir = compiler.Compiler().compile(pipeline)
    return ir, {node.pipeline_node.node_info.id: {
        key: str(value) for key, value in node.pipeline_node.parameters.parameters.items()}
        for node in ir.nodes}


def test_a_training_setting_reaches_the_trainer_only(tmp_path):
    tiny = config.profile("tiny")
    _, before = _parameters(tiny, tmp_path)
    _, after = _parameters(config.with_overrides(tiny, ["model.train_steps=31"]), tmp_path)
    assert [node for node in before if before[node] != after[node]] == ["Trainer"]


@pytest.mark.parametrize("setting,changed", [
    ("model.width_enc=25", {"Transform", "Trainer"}),
    ("generator.seed=2", {"SampleGenerator"}),
    ("generator.draw=digits", {"SampleGenerator"}),
    ("generator.ends_share=0.1", {"SampleGenerator"}),
    ("generator.cancel_share=0.1", {"SampleGenerator"}),
    ("data.curated_schema=seed.pbtxt", {"ImportSchemaGen"}),
    ("model.hint_weight=0.5", {"Trainer"}),
    ("model.larger_weight=0.2", {"Trainer"}),
    ("model.decay_share=0.3", {"Trainer"}),
    ("eval.min_exact_match=0.5", {"Evaluator"}),
    ("eval.max_loss=1.0", {"Evaluator"}),
    ("eval.min_canary_accuracy=0.5", {"ServingCheck"}),
    ("serving.keep_versions=2", {"Pusher"}),
])
def test_each_setting_reaches_the_components_that_use_it(tmp_path, setting, changed):
    assert _changed_by(setting, tmp_path) == changed


def test_the_near_cancelling_x_draw_reaches_the_generator_only(tmp_path):
    # It needs near-cancelling samples to draw (generator.cancel_share, 0 in the tiny profile).
    assert _changed_by("generator.cancel_x_draw=digits", tmp_path,
                       base=["generator.cancel_share=0.1"]) == {"SampleGenerator"}


def _changed_by(setting, tmp_path, base=()):
    """The nodes whose parameters `setting` changes, on the tiny profile with `base` set."""
    tiny = config.with_overrides(config.profile("tiny"), list(base))
    _, before = _parameters(tiny, tmp_path)
    _, after = _parameters(config.with_overrides(tiny, [setting]), tmp_path)
    return {node for node in before if before[node] != after[node]}


def test_every_component_running_project_code_carries_its_source_version(tmp_path):
    _, parameters = _parameters(config.profile("tiny"), tmp_path)
    for node in ("SampleGenerator", "ImportSchemaGen", "DataGate", "Transform", "Evaluator",
                 "ServingCheck", "Pusher"):
        assert SOURCE_VERSION in parameters[node], node
    assert "source_version" in parameters["Trainer"]["custom_config"]


def test_the_configured_span_is_the_one_ingested(tmp_path):
    _, parameters = _parameters(config.with_overrides(config.profile("tiny"),
                                                      ["generator.span=7"]), tmp_path)
    range_config = parameters["ImportExampleGen"]["range_config"]
    assert '\\"start_span_number\\": 7' in range_config and \
        '\\"end_span_number\\": 7' in range_config, range_config


def test_a_profile_gates_its_data_with_its_own_curated_schema(tmp_path):
    for name, schema_file in (("default", "schema.pbtxt"), ("seed", "seed.pbtxt")):
        _, parameters = _parameters(config.profile(name), tmp_path)
        assert f'/schema/{schema_file}"' in parameters["ImportSchemaGen"]["schema_file"], \
            parameters["ImportSchemaGen"]["schema_file"]


def test_no_cache_turns_caching_off_for_every_component(tmp_path):
    ir, _ = _parameters(config.profile("tiny"), tmp_path, enable_cache=False)
    assert not any(node.pipeline_node.execution_options.caching_options.enable_cache
                   for node in ir.nodes)
