"""The compression factor the rehearsal picks: compression divides a period's payments by the factor, so a
fixed factor starved the fast alarms' minimum sample at 60/s and the default run held at 10 % for ever."""

from __future__ import annotations

import json

import pytest

from bluegreen.rehearsal import alarms, cli
from bluegreen.rehearsal.monitor import MAX_SCALE, SAMPLE_MARGIN, expected_sample, fitting_scale


def test_sample_guard__read_from_the_monitoring_template():
    template = json.loads(alarms.MONITORING.read_text())
    minimum, period = alarms.sample_guard({})
    assert minimum == template["Parameters"]["MinPaymentsPerPeriod"]["Default"]
    assert period == 10  # the fast line's high-resolution period
    assert alarms.sample_guard({"MinPaymentsPerPeriod": "4"})[0] == 4


def test_sample_guard__a_changed_template_is_followed(tmp_path):
    template = json.loads(alarms.MONITORING.read_text())
    template["Parameters"]["MinPaymentsPerPeriod"]["Default"] = 25
    path = tmp_path / "monitoring.json"
    path.write_text(json.dumps(template))
    assert alarms.sample_guard({}, path)[0] == 25


@pytest.mark.parametrize("rate", [20, 45, 60, 100, 140, 199])
def test_fitting_scale__the_first_step_carries_the_margin_over_the_minimum(rate):
    scale = fitting_scale(rate, 10, 10, 10)
    assert 1 <= scale <= MAX_SCALE
    if scale > 1:
        assert expected_sample(rate, 10, 10, scale) >= SAMPLE_MARGIN * 10
    if scale < MAX_SCALE:  # the largest such factor, in half steps
        assert expected_sample(rate, 10, 10, scale + 0.5) < SAMPLE_MARGIN * 10


def test_time_scale__default_scenario_at_60_per_s__sampled_and_no_warning():
    said: list[str] = []
    scale = cli.time_scale("default", 60, None, {}, said.append)
    assert scale == 3 and said == []


def test_time_scale__a_chosen_factor_that_starves_the_sample__kept_and_said():
    said: list[str] = []
    assert cli.time_scale("default", 60, 10, {}, said.append) == 10
    assert len(said) == 1 and "will hold at 10 %" in said[0] and "6.0 payments" in said[0]


def test_time_scale__low_traffic_keeps_the_most_compression_and_says_nothing():
    said: list[str] = []
    assert cli.time_scale("low-traffic", 60, None, {}, said.append) == MAX_SCALE and said == []
