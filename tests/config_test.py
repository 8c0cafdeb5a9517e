"""The typed configuration: profiles, overrides and validation messages."""
import subprocess
import sys

import pytest

from modules import config


@pytest.mark.parametrize("name", sorted(config.PROFILES))
def test_every_profile_is_valid(name):
    config.profile(name).validate()  # raises ConfigError, naming the setting, if not


def test_overrides_are_parsed_to_the_field_types():
    changed = config.from_args("tiny", ["model.dim_hidden=32", "model.learning_rate=0.01",
                                        "generator.ops=+,-", "data.schema=infer",
                                        "generator.draw=mixed,digits"])
    assert changed.model.dim_hidden == 32
    assert changed.model.learning_rate == 0.01
    assert changed.generator.ops == ("+", "-")
    assert changed.data.schema == "infer"
    assert changed.generator.draw == "mixed,digits"  # one draw per operator of generator.ops
    assert config.profile("tiny").model.dim_hidden == 16, "profiles must not be mutated"


@pytest.mark.parametrize("assignment,message", [
    ("generator.samples=-3", "generator.samples=-3 is invalid: must be at least 1"),
    ("generator.max_val=0", "generator.max_val=0 is invalid"),
    ("generator.ops=+,/", "generator.ops='+,/' is invalid: each must be one of + - *"),
    ("generator.shards=0", "generator.shards=0 is invalid"),
    ("generator.draw=mixed,digits", "generator.draw='mixed,digits' is invalid: allowed values: "
                                    "value, digits, mixed, longer; or one of them per operator of "
                                    "generator.ops"),
    ("data.schema=guess", "allowed values: curated, infer"),
    ("model.dim_heads=3", "must divide model.dim_hidden"),
    ("model.width_dec=4", "needs at least 6 result tokens"),
    ("model.weight_decay=-0.1", "model.weight_decay=-0.1 is invalid: must be at least 0"),
    ("model.larger_weight=-1",
     r"model.larger_weight=-1.0 is invalid: must be at least 0 \(0: off\)"),
    ("model.decay_share=0", r"model.decay_share=0.0 is invalid: must be in \(0, 1\]"),
    ("generator.ends_share=1", r"generator.ends_share=1.0 is invalid: must be in \[0, 1\)"),
    ("generator.cancel_share=2", r"generator.cancel_share=2.0 is invalid: must be in \[0, 1\]"),
    ("generator.cancel_x_draw=short", "generator.cancel_x_draw='short' is invalid: allowed "
                                      "values: value, digits, mixed, longer; or empty"),
    ("model.dim_batch=many", "model.dim_batch='many': expected an integer"),
    ("model.colour=red", "unknown config key 'model.colour'"),
    ("nonsense", "unknown config key 'nonsense'"),
])
def test_bad_values_name_the_key_and_what_is_allowed(assignment, message):
    with pytest.raises(config.ConfigError, match=message.replace("+", r"\+").replace("*", r"\*")):
        config.from_args("default", [assignment])


def test_cancel_x_draw_needs_near_cancelling_samples_to_draw():
    with pytest.raises(config.ConfigError, match="generator.cancel_x_draw='digits' is invalid: "
                                                 "needs generator.cancel_share above 0"):
        config.from_args("default", ["generator.cancel_share=0", "generator.cancel_x_draw=digits"])
    assert config.from_args("default", ["generator.cancel_x_draw=digits"]).generator.cancel_share


def test_unknown_profile_lists_the_known_ones():
    with pytest.raises(config.ConfigError, match="unknown profile 'huge'; choose one of: default"):
        config.profile("huge")


def test_widths_follow_the_operand_range():
    assert config.max_enc_tokens(99) == len("x=-99,y=-99") + 1 + len("x*y") + 1
    assert config.max_tgt_tokens(99, ("*",)) == len("-9801") + 1
    assert config.max_tgt_tokens(99, ("+", "-")) == len("-198") + 1


def test_cli_rejects_bad_config_before_running_anything(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "pipeline.commands.cli", "run", "--root", str(tmp_path),
         "--set", "generator.shards=0"], capture_output=True, text=True, timeout=120)
    assert result.returncode == 2
    assert "generator.shards=0 is invalid" in result.stderr
    assert "Traceback" not in result.stderr
    assert list(tmp_path.iterdir()) == [], "nothing may be written for a bad config"


def test_a_continuation_cannot_be_told_to_start_anew_without_saying_so():
    with pytest.raises(config.ConfigError, match=r"model.require_warm_start=True is invalid: "
                                                 r"needs model.warm_start=true; to train from "
                                                 r"scratch, set model.require_warm_start=false"):
        config.from_args("seed-continue", ["model.warm_start=false"])
    assert not config.from_args("seed-continue", ["model.warm_start=false",
                                                  "model.require_warm_start=false"]
                                ).model.warm_start
