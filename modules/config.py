"""Typed pipeline configuration: every tunable lives here, validated before anything runs."""
from __future__ import annotations

import dataclasses
import os
import typing
from typing import Any, Dict, Tuple

import schema as schema_files
from modules import features


# Products of two operands must fit in int64 on every path (numpy, tf.int64).
MAX_OPERAND = 10**9


PRECISIONS = ("float32", "mixed_bfloat16")
ENC_LAYOUTS = ("text", "aligned")
BLANKINGS = ("random", "prefix")
DRAWS = ("value", "digits", "mixed", "longer")


class ConfigError(ValueError):
    """A configuration value is invalid; the message names the key and the allowed values."""


@dataclasses.dataclass(frozen=True)
class GeneratorConfig:
    """Parameters of the sample generator component (one run writes one span)."""
    samples: int = 50_000
    seed: int = 1
    shards: int = 4
    max_val: int = 99
    ops: Tuple[str, ...] = features.OPERATORS
    # "value": operands uniform in [-max_val, max_val], as the reference draws them; "digits":
    # each operand's digit count uniform first, then its value (short and long operands alike);
    # "mixed": each operand drawn one way or the other, half and half; "longer": as "digits",
    # but a digit count as likely as its size (four digits four times as often as one). One
    # draw for every operator, or one per operator of `ops`, comma-separated
    # ("mixed,mixed,digits").
    draw: str = "value"
    # How likely each of `ops` is, in their order (relative weights); empty: all equally.
    op_weights: Tuple[float, ...] = ()
    # The share of digit-count-drawn operands set to the range's ends, -max_val or max_val,
    # which the digit buckets alone show about once per bucket's width (10,000 once in 9,001).
    ends_share: float = 0.0
    # The share of `+` and `-` samples whose result, not their second operand, is drawn by
    # digit count (near-cancelling operands, such as 5805 and -5888: short results).
    cancel_share: float = 0.0
    # How x of those near-cancelling samples is drawn: empty, as its operator's draw says; or
    # a draw's name ("digits": as many short near-cancelling pairs as long ones).
    cancel_x_draw: str = ""
    # 0: the next span after the newest one under the data root, so that each run trains on
    # fresh samples (continuous training); N: exactly span N (a re-run reuses it and the caches).
    span: int = 0


@dataclasses.dataclass(frozen=True)
class DataConfig:
    """How ExampleGen splits a span (hash buckets) and which schema gates it."""
    train_buckets: int = 8
    eval_buckets: int = 1
    test_buckets: int = 1
    # "curated": ImportSchemaGen from schema/<curated_schema>; "infer": SchemaGen on this span.
    schema: str = "curated"
    # The curated schema's file under schema/: one per operand range.
    curated_schema: str = schema_files.DEFAULT


@dataclasses.dataclass(frozen=True)
class ModelConfig:
    """Every dimension of the sliding-context model and its training schedule.

    The defaults are the measured winners of docs/experiments.md."""
    dim_batch: int = 128
    dim_hidden: int = 128
    dim_dense: int = 512
    dim_heads: int = 4
    dim_stacks: int = 2
    # 16 tokens hold the longest expression for operands up to 99; wider windows only matter
    # for the sliding context, which the default keeps off.
    width_enc: int = 16
    width_dec: int = 6
    dropout: float = 0.0
    learning_rate: float = 1e-3
    # Gradients are rescaled to at most this global norm; 0 turns clipping off.
    clip_norm: float = 0.0
    # Decoupled weight decay (AdamW) of the dense and embedding weights, times the learning
    # rate at each step; 0: plain Adam. Norms and biases are never decayed.
    weight_decay: float = 0.0
    warmup_steps: int = 100
    # The last share of the steps after warmup, in which the rate decays (cosine) to 0; before
    # it, the rate holds at learning_rate. 1: cosine decay from the end of warmup.
    decay_share: float = 1.0
    train_steps: int = 5000
    # Start from the last pushed model's weights when its dimensions match (continuous training).
    warm_start: bool = True
    # Refuse to train from scratch: for settings that only continue a pushed model (the
    # seed-continue profile's long factors, shown to a new model, cost it the short ones).
    require_warm_start: bool = False
    eval_steps: int = 10
    # Share of training examples whose decoder input is fully blank, as at serving.
    full_blank_fraction: float = 1.0
    # How the other examples are blanked (modules/transform.py): "random" (Mask-Predict) or
    # "prefix" (the first tokens known; decoding then fixes one position per pass).
    blanking: str = "random"
    # Probability that a training row sees no sliding context, as serving always does.
    context_drop: float = 1.0
    # Mask-Predict refinement passes at serving after the first fully blank pass.
    refine_steps: int = 0
    # The result inside the model least significant digit first, sign last ("-12" as "21-"):
    # each digit then follows the digits its carry comes from. Users always see normal order.
    reverse_result: bool = True
    # The reference multiplies token vectors by sqrt(dim_hidden), which puts the learned
    # position signal about 50 times below the token signal; False keeps both on one scale.
    scale_tokens: bool = False
    # How Transform lays out the operands for the encoder: "text" as written, or "aligned":
    # each operand right-aligned in a fixed field (SPC-padded), so each digit has a fixed place.
    enc_layout: str = "aligned"
    # "float32", or "mixed_bfloat16": bfloat16 compute, float32 weights (fast where the CPU
    # has AMX or AVX512-BF16).
    precision: str = "mixed_bfloat16"
    # The digits of one place value share a position id in both operands and the result
    # (Abacus embeddings); needs the result reversed, so that result position k is place k.
    place_positions: bool = True
    # Weight of the training-only loss on the carry into each result place (the Hints layer);
    # 0: no Hints layer.
    hint_weight: float = 1.0
    # Weight of a second training-only head, Hints named `larger`: for a sum or difference of
    # opposite signs, which term has the larger magnitude (and so gives the result's sign);
    # 0: no such layer. Measured on two seeds of the default profile (docs/experiments.md).
    larger_weight: float = 0.0
    # Each stack's blocks run this many times, the stack's input added again before each round.
    loops: int = 1


@dataclasses.dataclass(frozen=True)
class EvalConfig:
    """Gates between training and serving."""
    # The floor: well below what the default profile reaches (docs/benchmarks.md), so that
    # only a model that has clearly failed to learn is refused.
    min_exact_match: float = 0.8
    # A candidate may be at most this much worse than the last pushed model.
    max_exact_match_drop: float = 0.0
    # ... and its loss (nats per token) at most this much higher.
    max_loss_increase: float = 0.1
    # The loss ceiling, per label position (digits, sign, STP): a model that has learned
    # nothing scores about 3 (a guess among the 20 tokens); the default profile's first runs
    # measured 0.037 and 0.041 (at 85.6% exact match, 0.077; docs/benchmarks.md).
    max_loss: float = 0.15
    # ServingCheck: median latency of one request, and the share of canaries answered right.
    max_latency_ms: float = 1000.0
    # ServingCheck's canaries are one-digit problems that every pushed model should answer.
    min_canary_accuracy: float = 0.75


@dataclasses.dataclass(frozen=True)
class ServingConfig:
    """The serving directory the Pusher publishes to."""
    # After each push, versions beyond the newest N are removed (the served one never is).
    keep_versions: int = 5


@dataclasses.dataclass(frozen=True)
class PipelineConfig:
    """The whole pipeline: one object that the factory, the runner and the tests share."""
    name: str = "arith-tfx"
    generator: GeneratorConfig = GeneratorConfig()
    data: DataConfig = DataConfig()
    model: ModelConfig = ModelConfig()
    eval: EvalConfig = EvalConfig()
    serving: ServingConfig = ServingConfig()

    def validate(self) -> "PipelineConfig":
        _validate(self)
        return self


SECTIONS = {"generator": GeneratorConfig, "data": DataConfig, "model": ModelConfig,
             "eval": EvalConfig, "serving": ServingConfig}


# The reference's range: operands up to 10,000, sized for at most 40 minutes on 2 cores
# (docs/benchmarks.md). Factors by digit count first (drawn by value, nine in ten have four
# digits and nothing is learned: docs/experiments.md); sums and differences half by value,
# which holds the long near-equal operands that uniform cases are full of. One digit-drawn
# operand in 40 at ±10,000, which the buckets alone show too rarely to be learned. Two sums
# or differences in five with near-cancelling operands, whose short results (and their
# signs) a draw of operands shows too rarely. Learning rate 2e-3 learns more `*` than 1e-3,
# and held there until the last 30% of the steps more still, but with one near-cancelling
# sample in five it cost `+` and `-` their signs; with two in five, three seeds answered all
# fresh sums and differences right, and 94.1% to 97.1% of their test splits against 89.9% to
# 96.4% for the cosine decay with one in five (docs/experiments.md).
_SEED = PipelineConfig(
    generator=GeneratorConfig(samples=800_000, shards=8, max_val=10_000,
                              draw="mixed,mixed,digits", op_weights=(1, 1, 2),
                              ends_share=0.025, cancel_share=0.4),
    data=DataConfig(train_buckets=38, eval_buckets=1, test_buckets=1,
                    curated_schema="seed.pbtxt"),
    # 22 encoder tokens hold `x=-10000,y=-10000:x*y:`; 11 result tokens `-100000000` + STP.
    model=ModelConfig(width_enc=22, width_dec=11, train_steps=16_000, warmup_steps=300,
                      learning_rate=2e-3, decay_share=0.3),
    # Set from the digits draw's run 1 (82.4%, loss 0.115 per label position); the three
    # seeds of this profile measured 94.1% to 97.1% and 0.012 to 0.023 (docs/experiments.md).
    eval=EvalConfig(min_exact_match=0.75, max_loss=0.25),
)


def warm_start_refusal(reason: str) -> str:
    """What model.require_warm_start says when it finds no model to continue, and why."""
    return (f"model.require_warm_start: these settings only continue a pushed model, and "
            f"{reason}; push a model of these dimensions first (for --profile seed-continue: "
            f"run --profile seed), or set model.require_warm_start=false to train from scratch")


def _continued(first: PipelineConfig, draw: str, train_steps: int, cancel_share: float,
               decay_share: float) -> PipelineConfig:
    """The runs after `first`'s: their own draw, share and schedule, and never from scratch."""
    return dataclasses.replace(
        first, generator=dataclasses.replace(first.generator, draw=draw,
                                             cancel_share=cancel_share),
        model=dataclasses.replace(first.model, train_steps=train_steps, decay_share=decay_share,
                                  require_warm_start=True))


# Profiles: named starting points; --set overrides go on top.
PROFILES: Dict[str, PipelineConfig] = {
    # `*` drawn half the time: 4,500 steps of an even mix gave `*` 57.9%, 5,000 of this one 91.5%
    # (docs/benchmarks.md). One sum or difference in five with near-cancelling operands, whose
    # short results, like one-digit operands, a uniform draw shows rarely: without them one
    # seed's fresh one-digit `+` and `-` were 76% and 78% right, with them 99.3% to 100% on
    # three seeds (docs/experiments.md).
    "default": PipelineConfig(generator=GeneratorConfig(op_weights=(1, 1, 2), cancel_share=0.2)),
    # About four times the default's training, on a span six times as large (docs/benchmarks.md).
    "quality": PipelineConfig(
        generator=GeneratorConfig(samples=300_000, shards=8),
        model=ModelConfig(train_steps=26_000, warmup_steps=300),
        eval=EvalConfig(min_exact_match=0.9),
    ),
    "seed": _SEED,  # the reference's range (above)
    # Every run after the seed profile's first: a new span with a third of the factor pairs
    # four-digit by four-digit (drawn by value or by digit count, half and half), 6,000 steps
    # warm-started from the served model. After 16,000 steps or more of the profile it raised
    # uniform `*` on all three seeds; shown to a new model, or after 10,000 steps, long factors
    # cost it the shorter ones (docs/experiments.md): hence no training from scratch. Measured
    # with one sum or difference in five near-cancelling and the cosine decay, which it keeps.
    "seed-continue": _continued(_SEED, draw="mixed,mixed,mixed", train_steps=6_000,
                                cancel_share=0.2, decay_share=1.0),
    # Seconds, not minutes: for tests and for trying the pipeline out.
    "tiny": PipelineConfig(
        generator=GeneratorConfig(samples=400, shards=2, max_val=9, span=1),
        model=ModelConfig(dim_batch=16, dim_hidden=16, dim_dense=32, dim_heads=2, dim_stacks=1,
                          width_enc=24, width_dec=5, warmup_steps=20, train_steps=300,
                          eval_steps=3, learning_rate=3e-3),
        # A few hundred steps teach the tiny model the format, not arithmetic: no exact-match
        # gates, but its loss per label position (about 1.7) must show that it learned (one
        # step leaves 3.6).
        eval=EvalConfig(min_exact_match=0.0, max_exact_match_drop=1.0, min_canary_accuracy=0.0,
                        max_loss=2.6),
    ),
}


def profile(name: str) -> PipelineConfig:
    if name not in PROFILES:
        raise ConfigError(f"unknown profile {name!r}; choose one of: {', '.join(sorted(PROFILES))}")
    return PROFILES[name]


def keys() -> Tuple[str, ...]:
    """All `section.field` keys that --set accepts."""
    return tuple(f"{section}.{f.name}" for section, typ in SECTIONS.items()
                 for f in dataclasses.fields(typ))


def with_overrides(config: PipelineConfig, assignments) -> PipelineConfig:
    """Applies `section.field=value` strings, parsing each value to the field's type."""
    sections = {name: getattr(config, name) for name in SECTIONS}
    for assignment in assignments:
        key, sep, text = assignment.partition("=")
        section, _, field = key.strip().partition(".")
        if not sep or section not in SECTIONS or field not in {
                f.name for f in dataclasses.fields(SECTIONS[section])}:
            raise ConfigError(f"unknown config key {key.strip()!r} in {assignment!r}; "
                              f"known keys: {', '.join(keys())}")
        sections[section] = dataclasses.replace(
            sections[section], **{field: parse_value(key.strip(), text)})
    return dataclasses.replace(config, **sections).validate()


def parse_value(key: str, text: str) -> Any:
    """The value of `section.field` that `text` gives, parsed to the field's type."""
    section, _, field = key.partition(".")
    kind = typing.get_type_hints(SECTIONS[section])[field]
    return _parse(key, text.strip(), getattr(SECTIONS[section](), field), kind)


def _parse(key: str, text: str, current: Any, kind: Any) -> Any:
    """`text` as the field's type: a bool, a number, a string, or a tuple given comma
    separated (a tuple of one-character strings, as `ops`, also as one word: `+-`)."""
    item = typing.get_args(kind)[0] if typing.get_origin(kind) is tuple else None
    if item is None:
        try:
            return _scalar(text, current)
        except ValueError:
            names = {int: "an integer", float: "a number", bool: "true or false", str: "a string"}
            raise ConfigError(f"{key}={text!r}: expected {names[type(current)]}") from None
    parts = [part.strip() for part in text.split(",") if part.strip()]
    if "," not in text and item is str and current and all(len(c) == 1 for c in current):
        parts = list(text)
    try:
        return tuple(_scalar(part, item()) for part in parts)
    except ValueError:
        raise ConfigError(f"{key}={text!r}: expected comma-separated {item.__name__}s") from None


def _scalar(text: str, current: Any) -> Any:
    if isinstance(current, bool):
        if text.lower() not in ("true", "false", "1", "0"):
            raise ValueError(text)
        return text.lower() in ("true", "1")
    return type(current)(text)


def _require(ok: bool, key: str, value: Any, allowed: str) -> None:
    if not ok:
        raise ConfigError(f"{key}={value!r} is invalid: {allowed}")


def max_enc_tokens(max_val: int) -> int:
    """Longest `defs SEP op SEP` for operands in [-max_val, max_val]."""
    operand = len(str(-max_val))
    return len("x=,y=") + 2 * operand + 1 + len("x*y") + 1


def max_tgt_tokens(max_val: int, ops) -> int:
    """Longest `res STP` for operands in [-max_val, max_val] and the given operators."""
    largest = max({"+": 2 * max_val, "-": 2 * max_val, "*": max_val * max_val}[op] for op in ops)
    return len(str(-largest)) + 1


def draws_per_operator(draw: str, ops) -> Tuple[str, ...]:
    """`generator.draw` as one draw per operator of `ops`: one name for all, or one per
    operator, comma-separated. The one check of a draw, for the config and the generator."""
    draws = tuple(draw.split(","))
    if len(draws) == 1:
        draws *= len(ops)
    _require(len(draws) == len(ops) and all(name in DRAWS for name in draws), "generator.draw",
             draw, f"allowed values: {', '.join(DRAWS)}; or one of them per operator of "
             f"generator.ops ({','.join(ops)}), comma-separated")
    return draws


def validate_generator(g: GeneratorConfig) -> None:
    _require(g.samples >= 1, "generator.samples", g.samples, "must be at least 1")
    _require(g.shards >= 1, "generator.shards", g.shards, "must be at least 1")
    _require(g.shards <= g.samples, "generator.shards", g.shards,
             f"must not exceed generator.samples ({g.samples})")
    _require(1 <= g.max_val <= MAX_OPERAND, "generator.max_val", g.max_val,
             f"must be in [1, {MAX_OPERAND}]")
    _require(g.seed >= 0, "generator.seed", g.seed, "must be a non-negative integer")
    _require(g.span >= 0, "generator.span", g.span, "must be a non-negative integer")
    _require(len(g.ops) >= 1 and all(op in features.OPERATORS for op in g.ops), "generator.ops",
             ",".join(g.ops), f"each must be one of {' '.join(features.OPERATORS)}")
    _require(len(set(g.ops)) == len(g.ops), "generator.ops", ",".join(g.ops), "no repeats")
    draws_per_operator(g.draw, g.ops)
    _require(not g.op_weights or (len(g.op_weights) == len(g.ops)
                                  and all(weight > 0 for weight in g.op_weights)),
             "generator.op_weights", ",".join(map(str, g.op_weights)),
             f"one positive weight per operator of generator.ops ({','.join(g.ops)}), or none")
    _require(0.0 <= g.ends_share < 1.0, "generator.ends_share", g.ends_share,
             "must be in [0, 1)")
    _require(0.0 <= g.cancel_share <= 1.0, "generator.cancel_share", g.cancel_share,
             "must be in [0, 1]")
    _require(g.cancel_x_draw in ("",) + DRAWS, "generator.cancel_x_draw", g.cancel_x_draw,
             f"allowed values: {', '.join(DRAWS)}; or empty (as the operator's draw)")
    _require(not g.cancel_x_draw or g.cancel_share > 0, "generator.cancel_x_draw",
             g.cancel_x_draw, "needs generator.cancel_share above 0 (it draws x of those samples)")


def _validate(config: PipelineConfig) -> None:
    g, d, m, e = config.generator, config.data, config.model, config.eval
    validate_generator(g)
    for key in ("train_buckets", "eval_buckets", "test_buckets"):
        _require(getattr(d, key) >= (0 if key == "test_buckets" else 1), f"data.{key}",
                 getattr(d, key), "train and eval need at least 1 bucket, test at least 0")
    _require(d.schema in ("curated", "infer"), "data.schema", d.schema,
             "allowed values: curated, infer")
    _require(d.curated_schema in schema_files.names(), "data.curated_schema", d.curated_schema,
             f"allowed values (files in schema/): {', '.join(schema_files.names())}")
    for key in ("dim_batch", "dim_hidden", "dim_dense", "dim_heads", "dim_stacks",
                "train_steps", "eval_steps"):
        _require(getattr(m, key) >= 1, f"model.{key}", getattr(m, key), "must be at least 1")
    _require(m.dim_hidden % m.dim_heads == 0, "model.dim_heads", m.dim_heads,
             f"must divide model.dim_hidden ({m.dim_hidden})")
    _require(m.loops >= 1, "model.loops", m.loops, "must be at least 1")
    _require(m.hint_weight >= 0, "model.hint_weight", m.hint_weight, "must be at least 0 (0: off)")
    _require(m.larger_weight >= 0, "model.larger_weight", m.larger_weight,
             "must be at least 0 (0: off)")
    _require(not m.place_positions or m.reverse_result, "model.place_positions",
             m.place_positions, "needs model.reverse_result=true (result position k is place k)")
    _require(m.warmup_steps >= 0, "model.warmup_steps", m.warmup_steps, "must be at least 0")
    _require(m.refine_steps >= 0, "model.refine_steps", m.refine_steps, "must be at least 0")
    _require(m.learning_rate > 0, "model.learning_rate", m.learning_rate, "must be positive")
    _require(0 < m.decay_share <= 1, "model.decay_share", m.decay_share, "must be in (0, 1]")
    _require(m.warm_start or not m.require_warm_start, "model.require_warm_start",
             m.require_warm_start, "needs model.warm_start=true; to train from scratch, set "
             "model.require_warm_start=false too")
    _require(0 <= m.dropout < 1, "model.dropout", m.dropout, "must be in [0, 1)")
    _require(m.clip_norm >= 0, "model.clip_norm", m.clip_norm, "must be at least 0 (0: off)")
    _require(m.weight_decay >= 0, "model.weight_decay", m.weight_decay,
             "must be at least 0 (0: off)")
    _require(m.blanking in BLANKINGS, "model.blanking", m.blanking,
             f"allowed values: {', '.join(BLANKINGS)}")
    _require(m.enc_layout in ENC_LAYOUTS, "model.enc_layout", m.enc_layout,
             f"allowed values: {', '.join(ENC_LAYOUTS)}")
    _require(m.precision in PRECISIONS, "model.precision", m.precision,
             f"allowed values: {', '.join(PRECISIONS)}")
    _require(0 <= m.full_blank_fraction <= 1, "model.full_blank_fraction",
             m.full_blank_fraction, "must be in [0, 1]")
    _require(0 <= m.context_drop <= 1, "model.context_drop", m.context_drop, "must be in [0, 1]")
    need_enc, need_dec = max_enc_tokens(g.max_val), max_tgt_tokens(g.max_val, g.ops)
    _require(m.width_enc >= need_enc, "model.width_enc", m.width_enc,
             f"generator.max_val={g.max_val} needs at least {need_enc} encoder tokens")
    _require(m.width_dec >= need_dec, "model.width_dec", m.width_dec,
             f"generator.max_val={g.max_val} needs at least {need_dec} result tokens")
    _require(0 <= e.min_exact_match <= 1, "eval.min_exact_match", e.min_exact_match,
             "must be in [0, 1]")
    _require(e.max_loss > 0, "eval.max_loss", e.max_loss, "must be positive")
    _require(e.max_loss_increase >= 0, "eval.max_loss_increase", e.max_loss_increase,
             "must be at least 0")
    _require(e.max_latency_ms > 0, "eval.max_latency_ms", e.max_latency_ms, "must be positive")
    _require(0 <= e.min_canary_accuracy <= 1, "eval.min_canary_accuracy",
             e.min_canary_accuracy, "must be in [0, 1]")
    _require(0 <= e.max_exact_match_drop <= 1, "eval.max_exact_match_drop",
             e.max_exact_match_drop, "must be in [0, 1]")
    _require(config.serving.keep_versions >= 1, "serving.keep_versions",
             config.serving.keep_versions, "must be at least 1 (the version being served)")


def from_args(profile_name: str = "default", assignments=()) -> PipelineConfig:
    return with_overrides(profile(profile_name), assignments)


def default_root() -> str:
    """Where `arith-tfx run` writes everything unless --root says otherwise."""
    return os.environ.get("ARITH_TFX_ROOT", os.path.join(os.getcwd(), "arith-tfx-root"))
