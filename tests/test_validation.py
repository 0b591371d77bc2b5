import math

import pytest

from styling_env.validation import choice, fraction, nonnegative_int, positive_float, positive_int


def test_positive_int_accepts_counts_and_names_the_argument_otherwise():
    assert positive_int("steps", 3) == 3
    for bad in (0, -1, True, 2.0, "3", None):
        with pytest.raises(ValueError, match="steps must be a positive int"):
            positive_int("steps", bad)


def test_nonnegative_int_allows_zero_only_as_an_int():
    assert nonnegative_int("tasks", 0) == 0
    for bad in (-1, False, 0.0):
        with pytest.raises(ValueError, match="tasks must be a non-negative int"):
            nonnegative_int("tasks", bad)


def test_positive_float_and_fraction_reject_nan_inf_and_out_of_range():
    assert positive_float("lr", 1e-3) == 1e-3
    for bad in (0.0, -1.0, math.nan, math.inf, True, "1e-3"):
        with pytest.raises(ValueError, match="lr must be a finite number > 0"):
            positive_float("lr", bad)
    assert fraction("p", 1) == 1.0
    for bad in (-0.1, 1.1, math.nan, True):
        with pytest.raises(ValueError, match=r"p must be a number in \[0, 1\]"):
            fraction("p", bad)


def test_choice_lists_what_is_allowed():
    assert choice("mode", "step", ("step", "plan")) == "step"
    with pytest.raises(ValueError, match="mode must be one of step, plan, got 'x'"):
        choice("mode", "x", ("step", "plan"))
