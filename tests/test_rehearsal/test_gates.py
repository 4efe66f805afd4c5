"""The gate judgments of the rehearsal's monitor: the monitoring stack's thresholds, CloudWatch's aligned periods."""

from __future__ import annotations

from bluegreen.rehearsal.gates import ALARM, OK, Sample, Thresholds, judge_colour, judge_data, parse_log_line

TH = Thresholds(http_5xx_percent=1, p99_seconds=1, unhealthy_hosts=0, cdc_latency_seconds=15, periods=3, datapoints=2, period=1.0)
HEALTHY = [(t / 10, 0) for t in range(0, 200)]


def steady(start, end, status=201, seconds=0.01, per_second=50):
    n = int((end - start) * per_second)
    return [Sample(start + i / per_second, status, seconds) for i in range(n)]


def test_thresholds__read_from_the_rendered_monitoring_and_dms_templates():
    th = Thresholds.from_templates(period=1.0)
    assert (th.http_5xx_percent, th.p99_seconds, th.unhealthy_hosts) == (1.0, 1.0, 0.0)
    assert (th.periods, th.datapoints, th.cdc_latency_seconds) == (3, 2, 15.0)


def test_judge_colour__errors_in_two_periods__alarm():
    samples = steady(0, 8) + steady(8.0, 9.5, status=503)
    assert judge_colour(samples, HEALTHY, now=9.5, th=TH)[0] == ALARM


def test_judge_colour__errors_in_one_period__ok():
    samples = steady(0, 7) + steady(7.1, 7.6, status=503) + steady(7.6, 9.5)
    assert judge_colour(samples, HEALTHY, now=8.5, th=TH)[0] == OK


def test_judge_colour__slow_burst_inside_one_period__never_two_of_three_however_time_moves():
    # Sliding windows would let the burst straddle two of them; aligned periods do not.
    samples = steady(0, 7) + steady(7.2, 7.7, seconds=1.5) + steady(7.7, 12)
    for tenth in range(75, 120):
        assert judge_colour(samples, HEALTHY, now=tenth / 10, th=TH)[0] == OK, tenth / 10


def test_judge_colour__no_requests__not_breaching():
    assert judge_colour([], HEALTHY, now=9.0, th=TH)[0] == OK


def test_judge_colour__unhealthy_targets__alarm_and_missing_readings_breach_after_start():
    down = [(t / 10, 1) for t in range(70, 95)]
    assert judge_colour([], HEALTHY[:70] + down, now=9.5, th=TH)[0] == ALARM
    assert judge_colour([], [], now=9.5, th=TH, since=0.0)[0] == ALARM  # no reading at all: breaching
    assert judge_colour([], [], now=9.5, th=TH, since=9.4)[0] == OK  # the alarm did not exist before


def test_judge_data__lag_above_threshold_or_failed__alarm_and_a_stopped_path_is_not():
    lagging = [(t / 10, 20.0, False) for t in range(70, 95)]
    assert judge_data(lagging, now=9.5, th=TH)[0] == ALARM
    assert judge_data([(t / 10, None, True) for t in range(70, 95)], now=9.5, th=TH)[0] == ALARM
    assert judge_data([(t / 10, None, False) for t in range(70, 95)], now=9.5, th=TH)[0] == OK


def test_parse_log_line__haproxy_syslog_datagram():
    frontend, sample = parse_log_line("<134>Dec  3 06:00:00 haproxy[12]: RH tg_green green 503 12", now=5.0)
    assert frontend == "tg_green" and sample == Sample(5.0, 503, 0.012)
    assert parse_log_line("<134>Dec  3 06:00:00 haproxy[12]: Server green/green-1 is DOWN", now=5.0) is None
