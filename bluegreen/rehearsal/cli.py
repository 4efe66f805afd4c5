"""``scripts/rehearse`` / ``bluegreen rehearse``: the dress rehearsal, its count and its report.

    scripts/rehearse                              # the default scenario at 140 payments/s
    scripts/rehearse --scenario crash --rate 60   # the switchover killed after the fence
    scripts/rehearse --scenario pause             # the write pause with no injected delay and with AWS-like ones
    scripts/rehearse --delays aws --delay cdc_apply_seconds=10   # every switchover with AWS-like delays
    scripts/rehearse --url https://pay-dev-d01.example.com --client-certs certs/ --duration 120   # against a deployment
    scripts/rehearse --keep                       # leave the servers running; report.json says how to stop them
    python -m bluegreen.rehearsal stop --world .rehearsal/world.json
"""

from __future__ import annotations

import argparse
import faulthandler
import json
import os
import signal
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bluegreen import local_mariadb as mdb
from bluegreen.local_mariadb import MariaDBError

from . import client_tls, matrix, recovery_time
from . import report as rp
from .alarms import MONITORING, sample_guard
from .client_tls import ClientTLS, ClientTLSError
from .delays import PROFILES, Delays, parse_override, sources
from .haproxy import HAProxyError
from .loadgen import LoadFleet, LoadGenerator
from .monitor import AWS_DELAYS, MAX_SCALE, SAMPLE_MARGIN, TimeModel, expected_sample, fitting_scale
from .plans import FAULTS, SCENARIOS, Options, plan_for
from .reconcile import Sent, payment_rows, payment_rows_over_http, read_books, reconcile, table_checksums
from .scenario import Rehearsal, adapters_report
from .stack import StackError, stop_kept
from .started import started
from .world import SWITCHOVER_LEASE_SECONDS


def sent_of(load: LoadGenerator | LoadFleet) -> list[Sent]:
    """Every request the client made, with what it was told (a payment id only if acknowledged)."""
    return [Sent(o.key, o.merchant, o.amount_minor, o.currency, o.card_token, o.payment_id if o.acknowledged else "",
                 o.done if o.acknowledged else 0.0, o.replayed if o.acknowledged else False, o.colour)
            for o in load.outcomes]


def base_report(load: LoadGenerator | LoadFleet, *, scenario: str, rate: float) -> dict[str, Any]:
    outcomes = load.outcomes
    requests = len(outcomes)
    acknowledged = sum(o.acknowledged for o in outcomes)
    # Acknowledged payments over the load window: what the system took, not what the client sent.
    elapsed = max(1e-9, load.stopped_at - load.started_at)
    achieved = acknowledged / elapsed
    failed = requests - acknowledged
    return {
        "scenario": scenario, "target_rate": rate, "achieved_rate": round(achieved, 2),
        "achieved_rate_percent": round(100 * achieved / rate, 2), "requests": requests, "acknowledged": acknowledged,
        "failed": failed, "failed_percent": round(100 * failed / requests, 4) if requests else 0.0,
        "sent_rate": round(requests / elapsed, 2),
        "retried_requests": sum(o.attempts > 1 for o in outcomes),
        # Every acknowledgement's signature checked with the published public key alone (None: no key given).
        "bad_signatures": (sum(o.signature_ok is False for o in outcomes)
                           if any(o.signature_ok is not None for o in outcomes) else None),
        "verified_signatures": sum(o.signature_ok is True for o in outcomes),
        "client_write_gap_s": round(rp.client_write_gap([o.done for o in outcomes if o.acknowledged]), 3),
        "started_at": load.started_at, "ended_at": max([load.stopped_at] + [o.done for o in outcomes]),
    }


def rehearse_local(o: Options, out: Path) -> dict[str, Any]:
    out.mkdir(parents=True, exist_ok=True)
    reh = Rehearsal(o, log_dir=out)
    try:
        world = reh.start()
        edge = TLSMeter(reh, o.say)
        load = reh.start_load()
        error = None
        try:
            reh.run()
        except (RuntimeError, TimeoutError) as err:
            # The count still matters most when the scenario went wrong: settle, count and report it.
            error = f"{type(err).__name__}: {err}"
            o.say(f"rehearse: the scenario stopped early: {error}")
        reh.marks.phase("drain (load stopped)", o.say)
        reh.settle()
        tls_cost = edge.cost(len(load.attempts))
        dbs = reh.stack.dbs
        with dbs[reh.writer].admin_login().connect() as conn:
            books = read_books(conn)
        checksums, rows = {}, {}
        for colour, db in dbs.items():
            with db.admin_login().connect() as conn:
                checksums[colour] = table_checksums(conn)
                rows[colour] = payment_rows(conn)
        counted = reconcile(sent_of(load), rows, checksums=checksums, books=books)
        report = base_report(load, scenario=o.scenario, rate=o.rate)
        report.update(counted)
        # Replication that did not catch up is a failed target, never a missing report.
        report["replication_caught_up"] = reh.replication_error is None
        report["replication_error"] = reh.replication_error
        report["phases"] = rp.phase_rows(reh.marks.spans(report["ended_at"]), load.outcomes, load.attempts)
        pauses: list[float] = [s["write_pause"] for s in reh.switchovers if s.get("write_pause") is not None]
        recovery = getattr(reh, "recovery", None)
        if recovery and recovery.get("killed_at"):
            # The killed run's pause: from its fence to the unfence by the recovering run.
            pauses.append(round(recovery["at"] - recovery["killed_at"], 3))
        report["write_pause_s"] = round(max(pauses), 3) if pauses else None
        report["switchovers"] = reh.switchovers
        report["write_pauses"] = rp.write_pauses(reh.switchovers, load.outcomes)
        report["write_pause"] = rp.pauses_by_delays(report["write_pauses"])
        report.update(rp.pause_figures(report["write_pauses"]))
        report["delays"] = {"profile": o.delays, "overrides": o.delay_overrides,
                            "injected": Delays.profile(o.delays, o.delay_overrides).to_dict(), "aws_like": sources()}
        report["db_tls"] = reh.stack.tls_report()
        if recovery:
            report["recovery"] = recovery
        first_blue = reh.sampler.first_all_blue(reh.fault_at) if reh.fault_at else None
        # The moment a gate's alarm changed state (the monitor's judgment), not when the shifter heard of it.
        alarms = [e for e in reh.monitor.changes if e.get("gate") and e["state"] == "ALARM" and e["at"] >= (reh.fault_at or 0)]
        report.update(rp.detection(reh.fault_at, alarms[0]["at"] if alarms else None, first_blue, o.timing.scale))
        # Time to recover: from each unfence, fault end and rollback until p99 over 1 s is under 50 ms again.
        acks = [(x.done, x.latency * 1000) for x in load.outcomes if x.acknowledged]
        report.update(recovery_time.measure(recovery_time.recovery_points(report, reh.marks.events, first_blue),
                                            acks, report["ended_at"]))
        report["final_writer"] = reh.writer
        report.update(reh.overload)  # the overload scenario's figures (overload.py)
        report["time_model"] = o.timing.as_dict()
        report["alarms"] = rp.alarm_summary(reh.defs)
        report["alarm_changes"] = reh.monitor.changes
        report["emf_documents"] = reh.monitor.emf.documents
        report["ecs_replacements"] = reh.restarts
        states = [(r.get("state") or {}) for r in reh.lam.results]
        report["rolled_back"] = any(s.get("status") == "rolled_back" for s in states)
        report["final_status"] = states[-1].get("status") if states else None
        if reh.hold_reasons:
            report["hold_reasons"] = reh.hold_reasons
        report["events"] = reh.marks.events
        report["adapters"] = adapters_report()
        report["shifter_runs"] = len(reh.lam.results)
        report["shifter_restarts"] = reh.lam.restarts
        report["mariadb"] = mdb.binaries()[0]
        report["tls"] = tls_cost
        if o.keep:
            report["url"] = world.url
            report["databases"] = {c: {**db.admin_login("payments").as_dict()} for c, db in dbs.items()}
            report["stop_command"] = f"{sys.executable} -m bluegreen.rehearsal stop --world {Path(world.base) / 'world.json'}"
        report["scenario_error"] = error
        report["scenario_completed"] = error is None
        overrides = rp.scenario_targets(o.scenario)
        if o.scenario == "crash":
            # No database takes payments from the kill until the next run undoes it, and that run may act
            # only once the dead run's lease lapsed: the lease and one tick, plus the default's 2 s.
            overrides["client_write_gap_s"] = ("<=", SWITCHOVER_LEASE_SECONDS + o.tick_seconds + 2.0)
        report["targets"] = rp.judge(report, overrides)
        rp.write(out, report, load.outcomes, load.attempts, reh.sampler.rows)
        return report
    finally:
        reh.stop()


class TLSMeter:
    """What the edge's mutual TLS costs over the load: a probe of full handshakes before it, then HAProxy's
    count of TLS connections and its CPU time across it (rehearsal report, key ``tls``)."""

    def __init__(self, reh: Rehearsal, say) -> None:
        from payment_api.bench import cpu_seconds  # the benchmark's /proc reader

        self.cpu_seconds = cpu_seconds
        self.proxy, self.pid = reh.world.haproxy(), started(reh.stack.proxy, "haproxy").pid
        tls = started(reh.stack.tls, "the merchants' client TLS")
        self.probe = client_tls.handshake_ms(reh.world.url, tls, tls.merchants[0])
        say(f"rehearsal: a full mutual-TLS handshake takes {self.probe['p50']} ms (p50 of {self.probe['count']}, loopback)")
        self.conns0, self.cpu0 = self._conns(), cpu_seconds(self.pid)

    def _conns(self) -> int:
        return int(self.proxy.info().get("CumSslConns", 0))

    def cost(self, requests: int) -> dict[str, Any]:
        out: dict[str, Any] = client_tls.cost_per_request(self._conns() - self.conns0, requests, self.probe["p50"],
                                          1000 * (self.cpu_seconds(self.pid) - self.cpu0))
        out["handshake_ms_p90"] = self.probe["p90"]
        out["note"] = ("handshake time measured by the client on loopback (ECDSA P-256 certificates, TLS 1.3, no "
                       "resumption: the ALB offers none with mutual TLS); edge CPU is HAProxy's whole process (TLS, "
                       "and the HTTP proxying of all four hops), so an upper bound for the TLS alone")
        return out


def rehearse_url(url: str, rate: float, duration: float, out: Path, say, verify: bool | str = True,
                 tls: ClientTLS | None = None) -> dict[str, Any]:
    """Against a deployment: the same client, ledger and count, through the service's look-up."""
    load = LoadFleet(url, rate, duration=duration, progress=say, verify=verify, tls=tls).start()
    load.join()
    keys = {o.key: o.merchant for o in load.outcomes}
    counted = reconcile(sent_of(load), {"service": payment_rows_over_http(url, keys, tls=tls, verify=verify)})
    report = base_report(load, scenario="url", rate=rate)
    report.update(counted)
    report["url"] = url
    report["phases"] = rp.phase_rows([("load", report["started_at"], report["ended_at"])], load.outcomes, load.attempts)
    report["write_pause_s"] = report["fault_to_blue_s"] = report["fault_to_blue_aws_s"] = None
    report["note"] = ("reconciled through GET /payments?idempotency_key= (no database access): divergent rows and "
                      "the balance are counted only by a local rehearsal")
    report["targets"] = rp.judge(report)
    rp.write(out, report, load.outcomes, load.attempts, [])
    return report


#: The monitoring template's parameters that have a default (what --alarm-parameter may set).
MONITORING_PARAMETERS = frozenset(k for k, v in json.loads(MONITORING.read_text())["Parameters"].items() if "Default" in v)


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="rehearse", description="The migration dress rehearsal (docs/rehearsal.md).")
    p.add_argument("--scenario", choices=SCENARIOS, default="default")
    p.add_argument("--matrix", action="store_true",
                   help="the fault matrix: each of --scenarios as its own rehearsal, judged against its written "
                        "expectation (bluegreen/rehearsal/matrix.py); <out>/matrix.json and matrix.png")
    p.add_argument("--scenarios", default=None, metavar="A,B,...",
                   help=f"with --matrix: the scenarios to run, in order (default: {','.join(matrix.DEFAULT_MATRIX)})")
    p.add_argument("--rate", type=float, default=140.0, help="payments per second, constant arrival rate (default 140)")
    p.add_argument("--duration", type=float, default=None,
                   help="seconds of load with --url (default 60); locally it sets each bake so the run lasts about that long")
    p.add_argument("--bake", type=float, default=None, help="seconds of each bake and steady phase (default 10)")
    p.add_argument("--time-scale", type=float, default=None,
                   help="the one time-compression factor: every alarm period, the health-check interval and ECS's task "
                        f"replacement are divided by it (default: the largest up to {MAX_SCALE:g} at which a period of the "
                        f"first step still carries {SAMPLE_MARGIN:g}x the alarms' minimum sample at --rate; 7 at 140/s)")
    p.add_argument("--alarm-parameter", action="append", default=[], metavar="NAME=VALUE",
                   help="a monitoring-stack parameter as a deployment would set it (e.g. MinPaymentsPerPeriod=5); "
                        "default: the template's defaults")
    for name, (aws, why) in AWS_DELAYS.items():
        p.add_argument(f"--{name.replace('_', '-')}", type=float, default=aws, help=f"AWS seconds (default {aws:g}): {why}")
    p.add_argument("--out", default=".rehearsal", help="where report.json, ledger.csv and rehearsal.png go")
    p.add_argument("--url", default=None, help="a deployed environment's payment URL: load and count only")
    p.add_argument("--insecure", action="store_true", help="with --url: do not verify TLS (a test stack's self-signed certificate)")
    p.add_argument("--client-certs", default=None, metavar="DIR",
                   help="with --url: <merchant_id>.crt/.key pairs the environment's trust store accepts (the ALBs "
                        "refuse a client without one); payments go to those merchants")
    p.add_argument("--ca-file", default="", help="with --url: CA bundle of the server's certificate (default: the system's)")
    p.add_argument("--signing-key", action="append", default=[], metavar="KID=KEY",
                   help="with --url: a published public key answers are verified with (docs/payment-service.md); repeat")
    p.add_argument("--capacity", type=float, default=None,
                   help="the stack's measured capacity, payments/s (payment-api bench, app/bench/wrk_capacity.py): "
                        "the overload scenario runs at twice it for 30 s")
    p.add_argument("--port", type=int, default=None, help="the load balancer's port (default: a free one)")
    p.add_argument("--keep", action="store_true", help="leave every server running; report.json has url, databases, stop_command")
    p.add_argument("--delays", choices=PROFILES, default="none",
                   help="AWS-like delays in the stand-ins (bluegreen/rehearsal/delays.py): none (default) or aws")
    p.add_argument("--delay", action="append", default=[], metavar="NAME=SECONDS",
                   help="override one delay of the profile, e.g. cdc_apply_seconds=10 (repeatable)")
    return p


#: Phases of a scenario that last one bake each (the duration splits into these).
BAKES = {"default": 9, "crash": 9, "pause": 3, "clean": 6, "low-traffic": 5, **dict.fromkeys(FAULTS, 5)}


def time_scale(scenario: str, rate: float, chosen: float | None, alarm_parameters: dict[str, str],
               say: Callable[[str], None]) -> float:
    """The compression factor: the one chosen, or the largest that keeps the first step's periods sampled.
    The low-traffic scenario is meant to starve the sample, so it keeps the most compression."""
    minimum, period = sample_guard(alarm_parameters)
    first = plan_for(scenario, 1)["steps"][0]["green_weight"]
    if chosen is None:
        chosen = MAX_SCALE if scenario == "low-traffic" else fitting_scale(rate, first, period, minimum)
    carried = expected_sample(rate, first, period, chosen)
    if carried < minimum and scenario != "low-traffic":
        say(f"rehearse: at {rate:g} payments/s and --time-scale {chosen:g}, a {period} s period at {first} % green carries "
            f"{carried:.1f} payments, under MinPaymentsPerPeriod {minimum}: the shift will hold at {first} % as AWS "
            f"would at {rate / chosen:g} payments/s (a lower --time-scale or a higher --rate avoids it)")
    return chosen


def run_matrix(args: argparse.Namespace, options: Callable[[str], Options], out: Path) -> int:
    """``--matrix``: the exit status is 1 when any scenario missed its expectation or its count."""
    names = args.scenarios.split(",") if args.scenarios else list(matrix.DEFAULT_MATRIX)
    unknown = [n for n in names if n not in matrix.EXPECTED]
    if unknown or args.keep:
        print(f"rehearse: --matrix: {'--keep is not for a matrix' if args.keep else f'unknown scenario(s) {unknown}'}; "
              f"choose from {', '.join(matrix.EXPECTED)}", file=sys.stderr)
        return 2
    lines = matrix.run(options(names[0]), names, out, rehearse_local, options_for=options)
    print(f"\nrehearse: {sum(m['met'] for m in lines)} of {len(lines)} scenarios met their expectation at "
          f"{args.rate:g} payments/s (load average {os.getloadavg()[0]:.1f}); {out / 'matrix.json'}, {out / 'matrix.png'}")
    return 0 if all(m["met"] for m in lines) else 1


def _interrupted(_signum, _frame) -> None:  # the signal module's handler signature
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    # A kill (SIGTERM) stops everything the rehearsal started, as a Ctrl-C does; SIGUSR1 prints every
    # thread's stack to stderr (a run that seems stuck says where, and goes on).
    previous = signal.signal(signal.SIGTERM, _interrupted)
    if sys.__stderr__ is not None:  # the process's own stderr (a replaced sys.stderr, e.g. pytest's, has no fileno)
        faulthandler.register(signal.SIGUSR1, file=sys.__stderr__, all_threads=True)
    try:
        return _main(list(sys.argv[1:] if argv is None else argv))
    finally:
        signal.signal(signal.SIGTERM, previous)


def _main(argv: list[str]) -> int:
    if argv[:1] == ["stop"]:
        sp = argparse.ArgumentParser(prog="rehearse stop")
        sp.add_argument("--world", required=True)
        args = sp.parse_args(argv[1:])
        print(f"rehearse: stopped {', '.join(stop_kept(args.world)) or 'nothing (already gone)'}")
        return 0
    args = parser().parse_args(argv)
    if args.rate <= 0:
        print(f"rehearse: --rate must be above 0 payments/s, got {args.rate:g}", file=sys.stderr)
        return 2
    out = Path(args.out)
    try:
        overrides = dict(parse_override(d) for d in args.delay)
    except ValueError as err:
        print(f"rehearse: {err}", file=sys.stderr)
        return 2

    def say(line: str) -> None:
        print(line, file=sys.stderr, flush=True)

    try:
        if args.url:
            if not args.client_certs:
                print("rehearse: --url needs --client-certs DIR: both ALBs require a client certificate (mutual TLS)",
                      file=sys.stderr)
                return 2
            keys = dict(k.split("=", 1) for k in args.signing_key if "=" in k)
            tls = ClientTLS.from_dir(args.client_certs, None if args.insecure else args.ca_file, keys)
            report = rehearse_url(args.url, args.rate, args.duration or 60.0, out, say, verify=not args.insecure, tls=tls)
        else:
            bake = args.bake if args.bake is not None else (args.duration / BAKES.get(args.scenario, 5) if args.duration else 10.0)
            if (args.time_scale is not None and args.time_scale < 1) or min(args.emf_delay, args.alb_delay, args.ecs_restart) < 0:
                print("rehearse: --time-scale must be at least 1 and the delays 0 or more", file=sys.stderr)
                return 2
            bad = [p for p in args.alarm_parameter if "=" not in p or p.split("=", 1)[0] not in MONITORING_PARAMETERS]
            if bad:
                print(f"rehearse: --alarm-parameter {bad[0]!r}: give NAME=VALUE with NAME one of "
                      f"{', '.join(sorted(MONITORING_PARAMETERS))}", file=sys.stderr)
                return 2
            alarm_parameters = dict(p.split("=", 1) for p in args.alarm_parameter)

            def options(scenario: str) -> Options:
                scale = time_scale(scenario, args.rate, args.time_scale, alarm_parameters, say)
                timing = TimeModel(scale=scale, emf_delay=args.emf_delay, alb_delay=args.alb_delay,
                                   ecs_restart=args.ecs_restart)
                return Options(scenario=scenario, rate=args.rate, bake=bake, timing=timing,
                               alarm_parameters=alarm_parameters, port=args.port, keep=args.keep, say=say,
                               delays=args.delays, delay_overrides=overrides, capacity=args.capacity)

            if args.matrix:
                return run_matrix(args, options, out)
            report = rehearse_local(options(args.scenario), out)
    except (StackError, MariaDBError, HAProxyError, ClientTLSError) as err:
        print(f"rehearse: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("rehearse: interrupted; every process it started has been stopped", file=sys.stderr)
        return 130
    print(rp.table(report))
    print(f"\nrehearse: {out / 'report.json'}, {out / 'ledger.csv'}, {out / 'rehearsal.png'}")
    if report.get("stop_command"):
        print(f"rehearse: servers left running at {report['url']}; stop them with: {report['stop_command']}")
    missed = [n for n, t in report["targets"].items() if t["met"] is False]
    if missed:
        print(f"rehearse: targets missed: {', '.join(missed)}", file=sys.stderr)
    return 1 if missed else 0
