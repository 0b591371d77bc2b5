"""EnvConfig: one value for the options the single env, the vector env and the engine share."""

from __future__ import annotations

import json

import gymnasium as gym
import numpy as np
import pytest

from styling_env import EnvConfig
from styling_env.config import FIELDS
from styling_env.engine import Engine
from styling_env.env import ImageStylingEnv
from styling_env.vector import ImageStylingVectorEnv


def test_defaults_match_the_keyword_constructors():
    import inspect

    for ctor in (ImageStylingEnv.__init__, ImageStylingVectorEnv.__init__):
        params = inspect.signature(ctor).parameters
        for name in FIELDS:
            assert params[name].default == getattr(EnvConfig(), name), (ctor, name)
    assert len(FIELDS) == 12


def test_round_trip_through_a_dict_and_json():
    c = EnvConfig(tier="complex", images="bundled", image_size=48, max_steps=5, max_invalid=2,
                  invalid_penalty=0.25, observation_mode="text", split="test", judge="measured",
                  render_mode="rgb_array")  # fmt: skip
    d = c.to_dict()
    assert set(d) == set(FIELDS) and d["image_size"] == 48 and d["judge"] == "measured"
    assert EnvConfig.from_dict(json.loads(json.dumps(d))) == c
    assert EnvConfig.from_dict({"max_steps": 3}) == EnvConfig(max_steps=3)
    assert c.replace(image_size=64).image_size == 64 and c.image_size == 48
    assert c.image_source == "bundled" and EnvConfig(tier="complex").image_source != ""


def test_unknown_and_bad_fields_are_named():
    with pytest.raises(ValueError, match="unknown EnvConfig field.* imag_size"):
        EnvConfig.from_dict({"imag_size": 64})
    with pytest.raises(TypeError, match="takes a mapping"):
        EnvConfig.from_dict([("image_size", 64)])
    with pytest.raises(ValueError, match="unknown EnvConfig field.* steps"):
        EnvConfig().replace(steps=3)
    with pytest.raises(ValueError, match="unknown tier 'hard'"):
        EnvConfig(tier="hard")
    with pytest.raises(ValueError, match="image_size must be an int in"):
        EnvConfig(image_size=8)
    with pytest.raises(ValueError, match=r"max_steps must be an int in \[1, 32\]"):
        EnvConfig(max_steps=0)
    with pytest.raises(ValueError, match="max_invalid must be a positive int, got 0"):
        EnvConfig(max_invalid=0)
    with pytest.raises(ValueError, match="invalid_penalty must be a finite number >= 0"):
        EnvConfig(invalid_penalty=-1)
    with pytest.raises(ValueError, match="unknown split 'val'; expected one of train, test"):
        EnvConfig(split="val")
    with pytest.raises(ValueError, match="unknown judge 'strict'"):
        EnvConfig(judge="strict")
    with pytest.raises(TypeError, match="images must be an image source name"):
        EnvConfig(images=["a.png"])
    with pytest.raises(ValueError, match="observation_mode must be"):
        EnvConfig(observation_mode="pixels")


def test_config_and_keywords_build_the_same_env():
    cfg = EnvConfig(image_size=32, max_steps=3)
    a = gym.make("ImageStyling-v0", image_size=32, max_steps=3)
    b = gym.make("ImageStyling-v0", config=cfg)
    assert a.unwrapped.config == b.unwrapped.config == cfg
    assert b.unwrapped.engine.config == cfg and b.unwrapped.engine.max_steps == 3
    oa, _ = a.reset(seed=5)
    ob, _ = b.reset(seed=5)
    assert np.array_equal(oa["image"], ob["image"]) and oa["instruction"] == ob["instruction"]
    assert b.observation_space["history"].shape == (3, 5)
    # the id's tier agrees with a config of that tier; keywords equal to the config are fine
    c = gym.make("ImageStyling-Complex-v0", config=EnvConfig(tier="complex", image_size=32))
    assert c.unwrapped.tier == "complex"
    assert ImageStylingEnv(image_size=32, config=cfg).config == cfg


def test_config_and_disagreeing_keywords_are_an_error():
    with pytest.raises(ValueError, match=r"disagree: tier='complex' \(config has 'simple'\)"):
        gym.make("ImageStyling-Complex-v0", config=EnvConfig(image_size=32))
    with pytest.raises(ValueError, match="max_steps=4"):
        ImageStylingEnv(max_steps=4, config=EnvConfig(image_size=32, max_steps=3))
    with pytest.raises(TypeError, match="config must be a styling_env.EnvConfig"):
        ImageStylingEnv(config={"image_size": 32})


def test_vector_env_and_engine_share_the_config():
    cfg = EnvConfig(image_size=32, max_steps=2, judge="measured")
    venv = gym.make_vec("ImageStyling-v0", 2, vectorization_mode="vector_entry_point", config=cfg)
    assert venv.unwrapped.config == cfg and venv.unwrapped.engine.n == 2
    kw = ImageStylingVectorEnv(2, image_size=32, max_steps=2, judge="measured")
    assert kw.config == cfg
    obs_a, _ = venv.reset(seed=1)
    obs_b, _ = kw.reset(seed=1)
    assert np.array_equal(obs_a["image"], obs_b["image"])
    e = Engine(3, image_size=32, max_invalid=5)
    assert e.config == EnvConfig(image_size=32, max_invalid=5) and e.max_invalid == 5
    assert Engine(1, cfg).image_size == 32
    with pytest.raises(ValueError, match="n must be a positive int"):
        Engine(0, cfg)
