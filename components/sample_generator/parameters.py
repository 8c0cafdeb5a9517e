"""GeneratorConfig as the component's execution parameters, as the output artifact's custom
properties and as a span manifest's record, each derived from the dataclass's fields: a new
generator field is added to GeneratorConfig (and to `samples.generate`) and nowhere here."""
import dataclasses
import typing
from typing import Any, Dict

from modules import config as config_lib
from modules.config import GeneratorConfig

# Custom property names older metadata stores hold (lineage reads them), where they differ.
ARTIFACT_NAMES = {"samples": "num_samples", "shards": "num_shards"}


def types() -> Dict[str, type]:
    """Each field's execution-parameter type; tuples travel comma-separated, as strings."""
    hints = typing.get_type_hints(GeneratorConfig)
    return {field.name: str if typing.get_origin(hints[field.name]) is tuple else hints[field.name]
            for field in dataclasses.fields(GeneratorConfig)}


def to_exec_properties(config: GeneratorConfig) -> Dict[str, Any]:
    return {name: ",".join(map(str, value)) if isinstance(value, tuple) else value
            for name, value in _values(config).items()}


def config_from(exec_properties: Dict[str, Any]) -> GeneratorConfig:
    """The config the execution parameters describe, parsed as `--set generator.*` is, and
    validated (a hand-edited or foreign pipeline IR gets the config's own errors)."""
    config = GeneratorConfig(**{
        name: config_lib.parse_value(f"generator.{name}", str(exec_properties[name]))
        for name in types()})
    config_lib.validate_generator(config)
    return config


def artifact_properties(config: GeneratorConfig) -> Dict[str, Any]:
    """The output artifact's custom properties: int, float or string, by the field's type."""
    return {ARTIFACT_NAMES.get(name, name): value
            for name, value in to_exec_properties(config).items()}


def recorded(config: GeneratorConfig) -> Dict[str, Any]:
    """What determines a span's bytes, as its manifest stores it (tuples as JSON lists)."""
    return {name: list(value) if isinstance(value, tuple) else value
            for name, value in _values(config).items()}


def as_written(stored: Dict[str, Any]) -> Dict[str, Any]:
    """A manifest's record, completed with the defaults of fields added after it was written.
    A new field's default keeps the draw it had before the field existed, so those defaults
    describe the older span exactly."""
    return {**recorded(GeneratorConfig()), **stored} if stored else stored


def _values(config: GeneratorConfig) -> Dict[str, Any]:
    return {field.name: getattr(config, field.name) for field in dataclasses.fields(config)}
