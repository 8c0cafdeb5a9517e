"""DataGate: stops the run before Transform when ExampleValidator found anomalies."""
from tfx.dsl.component.experimental.annotations import InputArtifact
from tfx.dsl.component.experimental.decorators import component
from tfx.types.standard_artifacts import ExampleAnomalies, Examples

from components.data_gate import anomalies as anomaly_reader


class DataAnomaliesError(RuntimeError):
    """The newest span failed validation against the schema."""


def span_of(examples) -> int:
    """ImportExampleGen records the span as a custom property in TFX 1.16."""
    if examples.has_custom_property("span"):
        return examples.get_int_custom_property("span")
    return examples.span


@component
def DataGate(examples: InputArtifact[Examples],
             anomalies: InputArtifact[ExampleAnomalies]) -> None:
    """Raises DataAnomaliesError naming every anomaly, so nothing downstream runs."""
    problems = anomaly_reader.describe(anomaly_reader.read(anomalies))
    if problems:
        raise DataAnomaliesError(
            f"data validation failed for span {span_of(examples)} ({len(problems)} anomalies); "
            "Transform and training did not run:\n  " + "\n  ".join(problems))
