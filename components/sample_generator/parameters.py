"""GeneratorConfig as the component's execution parameters, as the output artifact's custom
properties, as a span manifest's record and as `samples.generate`'s keywords, each derived from
the dataclass's fields: a new generator field is added to GeneratorConfig (and to
`samples.generate`) and nowhere here."""
import dataclasses
import typing
from typing import Any, Dict

from modules import config as config_lib
from modules.config import GeneratorConfig

# Custom property names older metadata stores hold (lineage reads them), where they differ.
ARTIFACT_NAMES = {"samples": "num_samples", "shards": "num_shards"}
# The fields every manifest has recorded; the others were added later (`completed_record`).
ALWAYS_RECORDED = ("samples", "seed", "shards", "max_val", "ops", "span")
# The fields that say which span to write; each of the others is a keyword of `generate`.
SPAN_FIELDS = ("samples", "seed", "shards", "span")


def exec_property_types() -> Dict[str, type]:
    """Each field's execution-parameter type; tuples travel comma-separated, as strings."""
    hints = typing.get_type_hints(GeneratorConfig)
    return {field.name: str if typing.get_origin(hints[field.name]) is tuple else hints[field.name]
            for field in dataclasses.fields(GeneratorConfig)}


def to_exec_properties(config: GeneratorConfig) -> Dict[str, Any]:
    """Scalars as their field's type (an int given for a float field becomes a float, as TFX's
    type check wants), tuples joined by commas as written (`1,1,2`)."""
    kinds = exec_property_types()
    return {name: ",".join(map(str, value)) if isinstance(value, tuple) else kinds[name](value)
            for name, value in _values(config).items()}


def config_from(exec_properties: Dict[str, Any]) -> GeneratorConfig:
    """The config the execution parameters describe, parsed as `--set generator.*` is, and
    validated (a hand-edited or foreign pipeline IR gets the config's own errors)."""
    config = GeneratorConfig(**{
        name: config_lib.parse_value(f"generator.{name}", str(exec_properties[name]))
        for name in exec_property_types()})
    config_lib.validate_generator(config)
    return config


def artifact_properties(config: GeneratorConfig) -> Dict[str, Any]:
    """The output artifact's custom properties: int, float or string, by the field's type."""
    return {ARTIFACT_NAMES.get(name, name): value
            for name, value in to_exec_properties(config).items()}


def manifest_record(config: GeneratorConfig) -> Dict[str, Any]:
    """What determines a span's bytes, as its manifest stores it (tuples as JSON lists)."""
    return {name: list(value) if isinstance(value, tuple) else value
            for name, value in _values(config).items()}


def completed_record(stored: Dict[str, Any]) -> Dict[str, Any]:
    """A manifest's record with the defaults of the fields added after it was written: a new
    field's default draws what was drawn before it existed, so they describe the older span
    exactly. A record missing a field that was always recorded is returned as it is."""
    if not stored or not set(ALWAYS_RECORDED) <= set(stored):
        return stored
    return {**manifest_record(GeneratorConfig()), **stored}


def draw_options(config: GeneratorConfig) -> Dict[str, Any]:
    """`samples.generate`'s keywords as `config` sets them."""
    return {name: value for name, value in _values(config).items() if name not in SPAN_FIELDS}


def _values(config: GeneratorConfig) -> Dict[str, Any]:
    return {field.name: getattr(config, field.name) for field in dataclasses.fields(config)}
