"""`arith-tfx compile --target vertex`: the pipeline compiled offline into a KFP v2 pipeline spec
for Dataflow, read back, and checked against the factory's pipeline and the Dockerfile."""
import importlib
import json
import os
import re
from typing import Dict, List

import pytest

from modules import config as config_lib
from pipeline import beam_args, vertex
from pipeline.paths import Paths
from schema import CURATED_SCHEMA

IMAGE = "europe-west4-docker.pkg.dev/p/arith/arith-tfx:test"
ROOT = "gs://b/arith"
DATAFLOW = beam_args.RunnerOptions(runner="dataflow", project="p", region="europe-west4",
                                   temp_location="gs://b/tmp", staging_location="gs://b/staging")
# The deployed configuration: the default profile, with the fixed span a compiled spec needs.
CONFIG = config_lib.from_args("default", ["generator.span=3"])
DOCKERFILE = os.path.join(vertex.CHECKOUT_DIR, "Dockerfile")
# The Beam steps of the pipeline: if one stopped being a Beam component, the checks on its
# Beam arguments would pass without checking anything.
EXPECTED_BEAM = {"SampleGenerator", "ImportExampleGen", "StatisticsGen", "Transform", "Evaluator"}


@pytest.fixture(scope="module")
def factory_pipeline():
    """The pipeline as the factory builds it for a local run (its own resolvers)."""
    from ml_metadata.proto import metadata_store_pb2
    from pipeline import factory
    return factory.create_pipeline(
        CONFIG, Paths(ROOT), beam_args.for_runner(DATAFLOW), stage="push",
        metadata_connection_config=metadata_store_pb2.ConnectionConfig(), served_version="")


@pytest.fixture(scope="module")
def spec(tmp_path_factory) -> Dict:
    output = str(tmp_path_factory.mktemp("vertex") / "pipeline.json")
    written = vertex.compile_pipeline(CONFIG, beam_args.for_runner(DATAFLOW), IMAGE, ROOT, output)
    assert written == output
    with open(output) as f:
        return json.load(f)


def tasks(spec: Dict) -> Dict:
    return spec["pipelineSpec"]["root"]["dag"]["tasks"]


def container(spec: Dict, task: str) -> Dict:
    pipeline_spec = spec["pipelineSpec"]
    component = tasks(spec)[task]["componentRef"]["name"]
    label = pipeline_spec["components"][component]["executorLabel"]
    return pipeline_spec["deploymentSpec"]["executors"][label]["container"]


def parameter(spec: Dict, task: str, name: str):
    value = tasks(spec)[task]["inputs"]["parameters"][name]["runtimeValue"]["constantValue"]
    return next(iter(value.values()))


def is_resolver(node) -> bool:
    from tfx.dsl.components.common import resolver
    return isinstance(node, resolver.Resolver)


def dockerfile_copies() -> Dict[str, str]:
    """Each source the Dockerfile COPYs (without a trailing slash) -> its destination in the
    image, with the ARGs filled in."""
    with open(DOCKERFILE) as f:
        text = f.read().replace("\\\n", " ")
    args, copies = {}, {}
    for line in text.splitlines():
        words = line.split()
        if not words or words[0] not in ("ARG", "COPY"):
            continue
        words = [re.sub(r"\$\{(\w+)\}|\$(\w+)", lambda m: args[m.group(1) or m.group(2)], word)
                 for word in words[1:] if not word.startswith("--")]
        if line.startswith("ARG"):
            name, _, value = words[0].partition("=")
            args[name] = value
        else:
            for source in words[:-1]:
                copies[source.rstrip("/")] = words[-1]
    return copies


def dockerfile_arg(name: str) -> str:
    with open(DOCKERFILE) as f:
        return re.search(rf"^ARG {name}=(\S+)$", f.read(), re.MULTILINE).group(1)


def copied_into(source: str) -> str:
    """The folder of the image where the Dockerfile puts the checkout's `source`: a file goes
    into it, a folder's contents become it."""
    return dockerfile_copies()[source].rstrip("/")


def test_the_file_is_a_pipeline_job_of_the_kfp_v2_schema(spec):
    from google.protobuf import json_format
    from kfp.pipeline_spec import pipeline_spec_pb2
    json_format.ParseDict(spec, pipeline_spec_pb2.PipelineJob())
    pipeline_spec = json_format.ParseDict(spec["pipelineSpec"], pipeline_spec_pb2.PipelineSpec())
    assert pipeline_spec.pipeline_info.name == CONFIG.name


def test_every_node_of_the_factory_pipeline_is_a_task(spec, factory_pipeline):
    expected = set()
    for node in factory_pipeline.components:
        # Vertex resolves the latest blessed model in two queries: blessing, then its model.
        expected |= ({f"{node.id}-model-blessing-resolver", f"{node.id}-model-resolver"}
                     if is_resolver(node) else {node.id})
    assert set(tasks(spec)) == expected
    assert len(expected) == len(factory_pipeline.components) + 2  # two resolvers, split in two


def test_every_executor_runs_in_the_given_image(spec, factory_pipeline):
    components = [node.id for node in factory_pipeline.components if not is_resolver(node)]
    assert {container(spec, name)["image"] for name in components} == {IMAGE}
    executors = spec["pipelineSpec"]["deploymentSpec"]["executors"].values()
    assert [e["container"]["image"] for e in executors if "container" in e] == \
        [IMAGE] * len(components)


def test_the_beam_components_carry_the_dataflow_arguments_with_the_in_image_setup_file(
        spec, factory_pipeline):
    from tfx.dsl.components.base import base_beam_component
    beam = {node.id for node in factory_pipeline.components
            if isinstance(node, base_beam_component.BaseBeamComponent)}
    assert EXPECTED_BEAM <= beam
    setup_file = os.path.join(copied_into("setup.py"), "setup.py")
    assert setup_file == f"{vertex.IMAGE_PROJECT_DIR}/setup.py"
    expected = ["--runner=DataflowRunner", "--project=p", "--region=europe-west4",
                "--temp_location=gs://b/tmp", "--staging_location=gs://b/staging",
                f"--setup_file={setup_file}"]
    for name in beam:
        assert_contains_in_order(container(spec, name)["args"], expected)
    # ImportExampleGen's driver (span resolution) runs before its executor, with the same args.
    driver = container(spec, "ImportExampleGen")["lifecycle"]["preCacheCheck"]
    assert_contains_in_order(driver["args"], expected)


def assert_contains_in_order(args: List[str], expected: List[str]) -> None:
    assert [arg for arg in args if arg in expected] == expected, args


def test_the_schema_is_the_one_the_dockerfile_puts_in_the_image(spec):
    assert dockerfile_arg("PROJECT_DIR") == vertex.IMAGE_PROJECT_DIR
    schema_file = parameter(spec, "ImportSchemaGen", "schema_file")
    assert schema_file == f"{vertex.IMAGE_PROJECT_DIR}/schema/schema.pbtxt"
    assert os.path.dirname(schema_file) == copied_into("schema")
    # ... and that folder is this checkout's schema/, with the curated schema in it.
    assert os.path.join(vertex.CHECKOUT_DIR, "schema", os.path.basename(schema_file)) == \
        CURATED_SCHEMA
    assert os.path.isfile(CURATED_SCHEMA)


@pytest.mark.parametrize("task, name, import_string", [
    ("Trainer", "run_fn", "modules.trainer.run_fn"),
    ("Transform", "preprocessing_fn", "modules.transform.preprocessing_fn"),
])
def test_module_functions_are_import_strings_that_resolve_in_the_image(
        spec, task, name, import_string):
    assert parameter(spec, task, name) == import_string
    assert_importable_from_the_image(import_string)


def test_every_executor_class_resolves_in_the_image(spec, factory_pipeline):
    for node in factory_pipeline.components:
        if not is_resolver(node):
            args = container(spec, node.id)["args"]
            executor = args[args.index("--executor_class_path") + 1]
            if not executor.startswith("tfx."):
                assert_importable_from_the_image(executor)


def assert_importable_from_the_image(dotted: str) -> None:
    """`dotted` names a callable of this checkout, in a package the Dockerfile copies."""
    module_name, _, attribute = dotted.rpartition(".")
    module = importlib.import_module(module_name)
    assert callable(getattr(module, attribute)), dotted
    package = module_name.split(".")[0]
    assert os.path.abspath(module.__file__).startswith(
        os.path.join(vertex.CHECKOUT_DIR, package) + os.sep)
    assert copied_into(package) == f"{vertex.IMAGE_PROJECT_DIR}/{package}"


def test_every_path_lies_under_the_given_root(spec):
    assert spec["runtimeConfig"]["gcsOutputDirectory"] == f"{ROOT}/pipeline"
    assert parameter(spec, "SampleGenerator", "data_root") == f"{ROOT}/data"
    assert parameter(spec, "ImportExampleGen", "input_base") == f"{ROOT}/data"
    push_destination = json.loads(parameter(spec, "Pusher", "push_destination"))
    assert push_destination["filesystem"]["base_directory"] == f"{ROOT}/serving"
    text = json.dumps(spec)
    assert "sqlite" not in text
    assert vertex.CHECKOUT_DIR + os.sep not in text


@pytest.mark.parametrize("root", ["/tmp/arith", "arith-root", "file:///tmp/arith", "gs:/b", ""])
def test_a_pipeline_root_that_is_not_a_cloud_uri_is_refused(root, tmp_path):
    with pytest.raises(vertex.CompileError, match="--pipeline-root"):
        vertex.compile_pipeline(CONFIG, [], IMAGE, root, str(tmp_path / "pipeline.json"))
    assert not os.listdir(tmp_path)


@pytest.mark.parametrize("image", ["", " image:tag"])
def test_a_missing_image_is_refused(image, tmp_path):
    with pytest.raises(vertex.CompileError, match="--image"):
        vertex.compile_pipeline(CONFIG, [], image, ROOT, str(tmp_path / "pipeline.json"))


def test_the_next_span_is_refused_for_a_compiled_spec(tmp_path):
    """Span 0 would be looked up on the data root at compile time and fixed in the spec."""
    with pytest.raises(vertex.CompileError, match="generator.span"):
        vertex.compile_pipeline(config_lib.profile("default"), [], IMAGE, ROOT,
                                str(tmp_path / "pipeline.json"))


def test_a_continuation_says_what_it_needs_before_its_first_run(tmp_path, capsys):
    """Only a local run can refuse at once (it reads the serving folder); a compiled one says
    so when compiled."""
    from pipeline.commands import cli

    def compile_command(*profile):
        args = cli.build_parser().parse_args(
            ["compile", "--target", "vertex", "--image", IMAGE, "--pipeline-root", ROOT,
             "--output", output, "--set", "generator.span=2", *profile])
        assert args.handler(args) == 0
        return capsys.readouterr().out

    output = str(tmp_path / "pipeline.json")
    out = compile_command("--profile", "seed-continue")
    assert os.path.exists(output)
    assert "model.require_warm_start" in out and ROOT in out and "--profile seed)" in out, out
    assert "note:" not in compile_command("--profile", "seed")


def test_compile_errors_are_value_errors():
    assert issubclass(vertex.CompileError, ValueError)
