"""The gate judgments of the rehearsal's monitor: the monitoring stack's thresholds, CloudWatch's aligned periods."""

from __future__ import annotations

from bluegreen.rehearsal.gates import ALARM, OK, Sample, Thresholds, judge_data, parse_log_line

TH = Thresholds(http_5xx_percent=1, p99_seconds=1, unhealthy_hosts=0, cdc_latency_seconds=15, periods=3, datapoints=2, period=1.0)


def test_thresholds__read_from_the_rendered_monitoring_and_dms_templates():
    th = Thresholds.from_templates(period=1.0)
    assert (th.http_5xx_percent, th.p99_seconds, th.unhealthy_hosts) == (1.0, 1.0, 0.0)
    assert (th.periods, th.datapoints, th.cdc_latency_seconds) == (3, 2, 15.0)


def test_judge_data__lag_above_threshold_or_failed__alarm_and_a_stopped_path_is_not():
    lagging = [(t / 10, 20.0, False) for t in range(70, 95)]
    assert judge_data(lagging, now=9.5, th=TH)[0] == ALARM
    assert judge_data([(t / 10, None, True) for t in range(70, 95)], now=9.5, th=TH)[0] == ALARM
    assert judge_data([(t / 10, None, False) for t in range(70, 95)], now=9.5, th=TH)[0] == OK


def test_parse_log_line__haproxy_syslog_datagram():
    frontend, sample = parse_log_line("<134>Dec  3 06:00:00 haproxy[12]: RH tg_green green 503 12", now=5.0)
    assert frontend == "tg_green" and sample == Sample(5.0, 503, 0.012)
    # The termination state tells a target's answer ("--") from the proxy's own 503 (no server answered).
    assert parse_log_line("<134>x haproxy[12]: RH tg_green green 503 0 SC", now=5.0)[1].termination == "SC"
    assert parse_log_line("<134>Dec  3 06:00:00 haproxy[12]: Server green/green-1 is DOWN", now=5.0) is None
