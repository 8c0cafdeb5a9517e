"""docs/pipeline.md draws the pipeline that pipeline/factory.py builds now; after a change of
the pipeline's shape, `python docs/pipeline_graph.py` draws it again."""
import importlib.util
import os

from pipeline.source_version import PROJECT_ROOT


def _pipeline_graph():
    spec = importlib.util.spec_from_file_location(
        "pipeline_graph", os.path.join(PROJECT_ROOT, "docs", "pipeline_graph.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_page_draws_the_pipeline_as_the_factory_builds_it():
    graph = _pipeline_graph()
    with open(graph.PAGE, encoding="utf-8") as f:
        drawn = f.read()
    assert drawn == graph.page(graph.tiny_pipeline()), "run: python docs/pipeline_graph.py"
