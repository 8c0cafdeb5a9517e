"""Draws docs/pipeline.md from the pipeline that pipeline/factory.py builds (tiny profile, every
stage): its components, the artifacts each writes and who reads them, taken from the pipeline's
own channels as a Mermaid flowchart. `python docs/pipeline_graph.py` writes the page;
tests/pipeline_graph_test.py fails while the page differs from what the factory builds."""
import os
import re
import sys
import tempfile
from typing import Dict, List

PROJECT_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, PROJECT_ROOT)
PAGE = os.path.join(PROJECT_ROOT, "docs", "pipeline.md")

HEADER = """\
# The pipeline's components and artifacts

Drawn by `python docs/pipeline_graph.py` from the pipeline that `pipeline/factory.py` builds
(profile `tiny`, every stage); `tests/pipeline_graph_test.py` fails while this page is out of
date. Rectangles are components, green where they run this project's code (`components/`);
hexagons are resolvers, which find a model of earlier runs in ML Metadata; rounded boxes are
the artifacts a component writes, as `key: type`, and grey ones are read by no component of
this pipeline. An arrow into a component names its input where the name differs from the
artifact's; a dotted arrow orders two components that share no artifact.
"""


def tiny_pipeline():
    from modules import config
    from pipeline import factory
    from pipeline.paths import Paths
    with tempfile.TemporaryDirectory() as root:  # empty: no span and no served version on disk
        return factory.create_pipeline(config.profile("tiny"), Paths(root), [])


def _name(text: str) -> str:
    """A Mermaid node id."""
    return re.sub(r"\W", "_", text)


def _inputs(node) -> Dict[str, object]:
    """A resolver's own channels (what it asks ML Metadata for), or a component's inputs."""
    channels = getattr(node, "raw_inputs", None) or node.inputs
    return {key: channel for key, channel in channels.items() if channel is not None}


def _runs_our_code(node) -> bool:
    """Its class, its executor or its resolver strategy comes from components/."""
    classes = [type(node), getattr(node.executor_spec, "executor_class", None)]
    classes += [value for value in node.exec_properties.values() if isinstance(value, type)]
    return any(getattr(cls, "__module__", "").startswith("components.") for cls in classes)


def flowchart(pipeline) -> List[str]:
    from tfx import v1 as tfx
    nodes = pipeline.components  # topologically sorted, each layer by id
    ids = {node.id for node in nodes}
    read = {(channel.producer_component_id, channel.output_key)
            for node in nodes for channel in _inputs(node).values()
            if getattr(channel, "producer_component_id", None) in ids}
    shapes, arrows, ours = [], [], []
    for node in nodes:
        name = _name(node.id)
        shapes.append(f'  {name}{{{{"{node.id}"}}}}' if isinstance(node, tfx.dsl.Resolver)
                      else f'  {name}["{node.id}"]')
        if _runs_our_code(node):
            ours.append(name)
        from_artifacts, from_earlier_runs = set(), []
        for key, channel in _inputs(node).items():
            producer = getattr(channel, "producer_component_id", None)
            if producer in ids:
                from_artifacts.add(producer)
                label = "" if key == channel.output_key else f'|"{key}"|'
                arrows.append(f"  {_name(f'{producer}.{channel.output_key}')} -->{label} {name}")
            else:
                from_earlier_runs.append(f"{key}: {channel.type_name}")
        if from_earlier_runs:
            arrows.append(f'  earlier -->|"{"<br/>".join(from_earlier_runs)}"| {name}')
        for upstream in sorted(n.id for n in node.upstream_nodes if n.id not in from_artifacts):
            arrows.append(f"  {_name(upstream)} -.-> {name}")
        unread = []
        for key, channel in node.outputs.items():
            if (node.id, key) in read:
                artifact = _name(f"{node.id}.{key}")
                shapes.append(f'  {artifact}(["{key}: {channel.type_name}"])')
                arrows.append(f"  {name} --> {artifact}")
            else:
                unread.append(f"{key}: {channel.type_name}")
        if unread:
            shapes.append(f'  {name}_unread(["{"<br/>".join(unread)}"]):::unread')
            arrows.append(f"  {name} --> {name}_unread")
    return (["flowchart TD", '  earlier[("ML Metadata: earlier runs")]'] + shapes + arrows +
            ["  classDef ours fill:#d9ead3,stroke:#38761d",
             "  classDef unread fill:#f3f3f3,stroke:#bbbbbb,color:#777777"] +
            ([f"  class {','.join(ours)} ours"] if ours else []))


def page(pipeline) -> str:
    return HEADER + "\n```mermaid\n" + "\n".join(flowchart(pipeline)) + "\n```\n"


def main() -> int:
    text = page(tiny_pipeline())
    with open(PAGE, "w", encoding="utf-8") as f:
        f.write(text)
    print(f"wrote {os.path.relpath(PAGE)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
