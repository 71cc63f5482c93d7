"""
Turn the benchmark's results into C{report.json} and C{report.md}: every
figure next to its reference, as a ratio, and each target marked met or not.
"""

import json
import math
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

import sql as sqlbench
import workers as workersbench


def _ratio(a: Optional[float], b: Optional[float]) -> Optional[float]:
    if a is None or b is None or not b or math.isnan(a) or math.isnan(b):
        return None
    return a / b


def _fmt(value: Any, digits: int = 2) -> str:
    if value is None:
        return "n/a"
    if isinstance(value, float):
        if math.isnan(value):
            return "n/a"
        if abs(value) >= 100:
            return f"{value:.0f}"
        return f"{value:.{digits}f}"
    return str(value)


def _cpuAgainst(ours: Dict[str, Any], ref: Optional[Dict[str, Any]], target: str,
                limit: float, reference: str) -> Tuple[str, str, str, Optional[bool]]:
    """
    The targets row for the service's CPU per query at c=16 against a
    reference server's, at most C{limit} times it.
    """
    if not ref or "16" not in ref:
        return (target, "n/a", f"{reference}: not measured", None)
    mine, theirs = ours["16"]["cpu_us_per_req"], ref["16"]["cpu_us_per_req"]
    cpu = _ratio(mine, theirs)
    return (target, f"{_fmt(cpu)}x ({_fmt(mine, 1)} us vs {_fmt(theirs, 1)} us)", reference,
            cpu is not None and cpu <= limit)


def targets(r: Dict[str, Any]) -> List[Tuple[str, str, str, Optional[bool]]]:
    """
    The issue's targets: (target, measured, reference, met).
    """
    rows: List[Tuple[str, str, str, Optional[bool]]] = []
    finger = r.get("finger", {})
    ours, ceiling, inetd = finger.get("finger"), finger.get("ceiling"), finger.get("in.fingerd")
    bare = finger.get("bare")
    if ours:
        rows.append(_cpuAgainst(
            ours, bare, "CPU per query <= 1.3x bare Twisted (c=16, logging and every limit on)",
            1.3, "tutorial stage 8 under twistd (`bench/barefinger.tac`)"))
        rows.append(_cpuAgainst(ours, ceiling, "CPU per query <= 2.5x the C ceiling (c=16)",
                                2.5, "ceiling_fingerd"))
    if ours and inetd and "16" in inetd:
        tp = _ratio(ours["16"]["req_per_s"], inetd["16"]["req_per_s"])
        rows.append((
            "req/s at c=16 >= 50x in.fingerd",
            f"{_fmt(tp, 1)}x ({_fmt(ours['16']['req_per_s'])} vs {_fmt(inetd['16']['req_per_s'], 1)} req/s)",
            "in.fingerd under openbsd-inetd", tp is not None and tp >= 50,
        ))
    elif ours:
        rows.append(("req/s at c=16 >= 50x in.fingerd", "n/a",
                     (inetd or {}).get("unavailable", "in.fingerd not measured"), None))
    if ours:
        c128 = _ratio(ours["128"]["req_per_s"], ours["16"]["req_per_s"])
        overflows = ours["128"]["listen_overflows"]
        rows.append((
            "c=128: zero ListenOverflows",
            f"{_fmt(overflows, 0)} (median of runs; max "
            f"{_fmt(max(x['listen_overflows'] for x in ours['128']['runs']), 0)})",
            "0", overflows == 0,
        ))
        rows.append((
            "c=128 req/s >= 0.9x c=16",
            f"{_fmt(c128)}x ({_fmt(ours['128']['req_per_s'])} vs {_fmt(ours['16']['req_per_s'])})",
            "the service at c=16", c128 is not None and c128 >= 0.9,
        ))
    web = r.get("web", {})
    if "unavailable" in web:
        rows.append(("web /USER >= 1.5x a bare twisted.web resource (req/s, wrk -c16)", "n/a",
                     web["unavailable"], None))
    elif web.get("bare_req_per_s"):
        b = _ratio(web["finger_req_per_s"], web["bare_req_per_s"])
        cpu = _ratio(web.get("bare_cpu_us_per_req"), web.get("finger_cpu_us_per_req"))
        rows.append((
            "web /USER >= 1.5x a bare twisted.web resource (req/s, wrk -c16)",
            f"{_fmt(b)}x ({_fmt(web['finger_req_per_s'])} vs {_fmt(web['bare_req_per_s'])} "
            f"req/s" + (f"; by CPU per request {_fmt(cpu)}x: "
                        f"{_fmt(web['finger_cpu_us_per_req'], 1)} vs "
                        f"{_fmt(web['bare_cpu_us_per_req'], 1)} us" if cpu is not None else "")
            + ")",
            "`bench/bareweb.tac` under twistd with its log file, same bytes",
            b is not None and b >= 1.5,
        ))
    if "unavailable" in web:
        rows.append(("web /USER >= 0.2x nginx static", "n/a", web["unavailable"], None))
    elif web and not web.get("nginx_req_per_s"):
        rows.append(("web /USER >= 0.2x nginx static", "n/a",
                     web.get("nginx_unavailable", "nginx not measured"), None))
    elif web:
        w = _ratio(web["finger_req_per_s"], web["nginx_req_per_s"])
        rows.append((
            "web /USER >= 0.2x nginx static",
            f"{_fmt(w)}x ({_fmt(web['finger_req_per_s'])} vs {_fmt(web['nginx_req_per_s'])} req/s, "
            f"{web['bytes']} bytes)" + (
                f"; the bare twisted.web resource: "
                f"{_fmt(_ratio(web['bare_req_per_s'], web['nginx_req_per_s']))}x"
                if web.get("bare_req_per_s") else ""),
            "nginx, same bytes as a static file", w is not None and w >= 0.2,
        ))
    scale = r.get("scale", {})
    big, small = scale.get("1000000"), scale.get("1000")
    if big:
        rows.append((
            "1M users load <= 1.0 s",
            f"{_fmt(big['load_s'])} s wall ({_fmt(big['load_cpu_s'])} s CPU) = "
            f"{_fmt(_ratio(big['load_s'], 1.0))}x target",
            "1.0 s", big["load_s"] <= 1.0,
        ))
        rows.append((
            "1M users <= 150 MB above empty",
            f"{_fmt(big['rss_above_empty_mib'], 0)} MiB = "
            f"{_fmt(_ratio(big['rss_above_empty_mib'] * 1.048576, 150.0))}x target",
            "150 MB", big["rss_above_empty_mib"] * 1.048576 <= 150,
        ))
        each = sorted(big.get("reload_stall_each_ms", []))
        rows.append((
            "1M-user reload: reactor stall <= 50 ms",
            f"{_fmt(big['reload_stall_ms'], 1)} ms = "
            f"{_fmt(_ratio(big['reload_stall_ms'], 50.0))}x target (median of each run's worst; "
            f"every reload: {', '.join(_fmt(x, 0) for x in each)} ms; same timer idle: "
            f"{_fmt(big.get('idle_stall_ms'), 1)} ms)",
            "50 ms", big["reload_stall_ms"] <= 50,
        ))
    if big and small:
        lk = _ratio(big["lookup_ns"], small["lookup_ns"])
        q = _ratio(big.get("query_cpu_us"), small.get("query_cpu_us"))
        rows.append((
            "lookups cost the same at 1k and 1M users (CPU per finger query within 1.25x)",
            f"query CPU {_fmt(q)}x ({_fmt(big.get('query_cpu_us'), 0)} vs "
            f"{_fmt(small.get('query_cpu_us'), 0)} us); in-process getUser alone "
            f"{_fmt(lk)}x ({_fmt(big['lookup_ns'], 0)} vs {_fmt(small['lookup_ns'], 0)} ns)",
            "1k users", q is not None and q <= 1.25,
        ))
    setter = r.get("setter")
    if setter:
        for clients, row in setter["by_clients"].items():
            rows.append((
                f">= 500 durable sets/s, 100k users, {clients} clients",
                f"{_fmt(row['sets_per_s'])} sets/s = {_fmt(_ratio(row['sets_per_s'], 500.0))}x target "
                f"(file holds every acknowledged set: {'yes' if row['durable_check'] else 'NO'})",
                "500 sets/s", row["sets_per_s"] >= 500 and row["durable_check"],
            ))
    rows += sqlbench.targets(r)
    rows += workersbench.targets(r)
    return rows


# The finger servers of a report, in the order its tables list them, and
# what each one is.
SERVERS = [
    ("ceiling", "the C ceiling: `ceiling_fingerd`, one epoll loop, a fixed table"),
    ("bare", "bare Twisted: tutorial stage 8 (`bench/barefinger.tac`), a `LineReceiver` "
     "answering from a dict read from the same status file, under `twistd -l FILE`: "
     "no access log, no limits, no timeouts"),
    ("finger", "the service with its query logging and every limit on (the per-client "
     "limits applied to loopback too, at rates the load stays under)"),
    ("finger-exempt", "the service as shipped: loopback exempt from the per-client limits"),
    ("pyfingerd", "pyfingerd 0.5.1 from PyPI (asyncio), logging every query at INFO to a "
     "file, asked for `root`: its answer comes from the system's accounts"),
    ("in.fingerd", "Debian's in.fingerd under a private openbsd-inetd (a fork and an exec "
     "of `finger` per query), asked for `root`"),
]


def fingerSection(finger: Dict[str, Any]) -> List[str]:
    """
    The finger servers side by side: at c=16 against the service, then
    every figure at every concurrency.
    """
    out = [
        "",
        "## Finger: `moshez` at concurrency 1, 16, 128",
        "",
        "The servers (all running at once, each idle while another is loaded; the runs "
        "take turns, so the ratios compare runs made seconds apart):",
        "",
    ]
    for name, what in SERVERS:
        if name in finger:
            out.append(f"- `{name}`: {what}.")
    if finger.get("every_limit"):
        out += ["", f"Every limit on means `twistd finger` with `{finger['every_limit']}` "
                "beside its defaults (connection cap, idle and lifetime timeouts, the query "
                "deadline, the per-address cap and the per-client rate), so each query "
                "pays for every check and none is refused."]
    out += [
        "",
        "CPU is the server process's utime+stime from `/proc/PID/stat` (for in.fingerd: "
        "inetd plus its reaped handlers; counted in 10 ms ticks, so a short run is coarse) "
        "divided by answered queries; ListenOverflows is the delta of `TcpExt "
        "ListenOverflows` over the run (system-wide).",
    ]
    ours = finger.get("finger", {}).get("16")
    if ours:
        out += [
            "",
            "At c=16, the service (every limit on) against each reference:",
            "",
            "| server | CPU us/query | service / it | req/s | answer bytes |",
            "|---|---|---|---|---|",
        ]
        for name, _ in SERVERS:
            data = finger.get(name)
            if not data or "unavailable" in data:
                if data:
                    out.append(f"| {name} | {data['unavailable']} ||||")
                continue
            d = data["16"]
            answer = finger.get("answers", {}).get(name)
            out.append(
                f"| {name} | {_fmt(d['cpu_us_per_req'], 1)} | "
                f"{_fmt(_ratio(ours['cpu_us_per_req'], d['cpu_us_per_req']))}x | "
                f"{_fmt(d['req_per_s'])} | {len(answer.encode()) if answer is not None else 'n/a'} |")
    if finger.get("pyfingerd_version"):
        out += ["", f"pyfingerd: `{finger['pyfingerd_version']}`."]
    out += [
        "",
        "| server | c | req/s | x ceiling | p50 ms | p99 ms | max ms | CPU us/req | x ceiling | x bare | RSS MiB | overflows | errors |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    ceiling, bare = finger.get("ceiling", {}), finger.get("bare", {})
    for name, _ in SERVERS:
        data = finger.get(name)
        if name not in ("ceiling", "finger") and not data:
            continue
        if not data or "unavailable" in data:
            out.append(f"| {name} | | {(data or {}).get('unavailable', 'not run')} ||||||||||")
            continue
        for c in ("1", "16", "128"):
            d, ref, b = data[c], ceiling.get(c, {}), bare.get(c, {})
            out.append(
                f"| {name} | {c} | {_fmt(d['req_per_s'])} | "
                f"{_fmt(_ratio(d['req_per_s'], ref.get('req_per_s')))} | {_fmt(d['p50_ms'], 3)} | "
                f"{_fmt(d['p99_ms'], 3)} | {_fmt(d['max_ms'], 3)} | {_fmt(d['cpu_us_per_req'], 1)} | "
                f"{_fmt(_ratio(d['cpu_us_per_req'], ref.get('cpu_us_per_req')))} | "
                f"{_fmt(_ratio(d['cpu_us_per_req'], b.get('cpu_us_per_req')))} | "
                f"{_fmt(d['rss_mib'], 1)} | {_fmt(d['listen_overflows'], 0)} | {_fmt(d['errors'], 0)} |"
            )
    logged = [name for name, _ in SERVERS if f"{name}_logged_queries" in finger]
    if logged:
        out.append("")
        out.append("Logging stayed on: the service's log and its rotated files hold " + ", ".join(
            f"{finger[f'{name}_logged_queries']} `Finger query from` lines ({name}"
            + (f", for {_fmt(finger[f'{name}_answered_queries'], 0)} queries answered in the "
               "measured runs, plus the warm-up's and the probe's"
               if f"{name}_answered_queries" in finger else "") + ")"
            for name in logged) + ".")
    return out


def webSection(web: Dict[str, Any]) -> List[str]:
    """
    The service's C{/moshez} against the bare twisted.web resource and
    nginx, serving the same bytes.
    """
    out = [
        f"`wrk -t1 -c16` for {web['bytes']} bytes, the three servers taking turns run by run.  "
        + (f"The service runs with its logging and every limit on (`{web['every_limit']}`).  "
           if web.get("every_limit") else "The service runs as shipped, with its logging on.  ")
        + "The issue's reference for what Twisted itself allows is a bare `twisted.web` "
        "resource answering with the same bytes under `twistd -l FILE` (`bench/bareweb.tac`: "
        "no templates, back-end, limits or extra headers; twisted.web's own access log, one "
        "event a request).  The issue words its target as `/USER` at least 1.5x that "
        "resource, and its \"today 1.2x\" is the ratio of requests a second, which is how "
        "the target is judged; the CPU each server spent per request (from `/proc/PID/stat`) "
        "says the same thing with less noise, as bare CPU / service CPU.",
        "",
        "| server | req/s | service / it (req/s) | CPU us/req | it / service (CPU) | runs, req/s |",
        "|---|---|---|---|---|---|",
    ]
    rows = [("service `/moshez`", "finger"), ("bare twisted.web", "bare"), ("nginx", "nginx")]
    for label, key in rows:
        rps = web.get(f"{key}_req_per_s")
        if rps is None:
            out.append(f"| {label} | {web.get(f'{key}_unavailable', 'not measured')} |||||")
            continue
        cpu = web.get(f"{key}_cpu_us_per_req")
        out.append(
            f"| {label} | {_fmt(rps)} | {_fmt(_ratio(web['finger_req_per_s'], rps))}x | "
            f"{_fmt(cpu, 1)} | {_fmt(_ratio(cpu, web.get('finger_cpu_us_per_req')))} | "
            + ", ".join(_fmt(x) for x in web.get(f"{key}_runs", [])) + " |")
    if web.get("finger_non_2xx"):
        out += ["", f"The service answered {_fmt(web['finger_non_2xx'], 0)} requests with "
                "a status other than 2xx or 3xx."]
    return out


def markdown(r: Dict[str, Any]) -> str:
    meta = r.get("meta", {})
    out = [
        "# Finger benchmark report",
        "",
        "Reproduce with `python bench/run.py` (see the README's Benchmarks section).",
        "",
        f"Generated by `python bench/run.py{' --quick' if meta.get('quick') else ''}` "
        f"on {meta.get('date')} at commit `{meta.get('commit')}`, in {meta.get('seconds')} s; "
        f"Python {meta.get('python')}, {meta.get('cpus')} CPUs ({meta.get('machine')}), "
        f"load average at the end {', '.join(f'{x:.2f}' for x in meta.get('load_average', []))}.",
        "Servers pinned to core 0, load generators to core 1.  Each figure is the median of "
        f"{meta.get('repeats')} runs; ratios compare figures from this same run.  The machine is "
        "shared with other work, so absolute figures are noisy: read the ratios.",
        "",
        "## Targets",
        "",
        "| target | measured | reference | met |",
        "|---|---|---|---|",
    ]
    for target, measured, reference, met in targets(r):
        mark = "n/a" if met is None else ("yes" if met else "**no**")
        out.append(f"| {target} | {measured} | {reference} | {mark} |")
    analysis = Path(__file__).with_name("ANALYSIS.md")
    if analysis.exists():
        out += ["", analysis.read_text().rstrip()]
    finger = r.get("finger", {})
    if finger:
        out += fingerSection(finger)
    web = r.get("web", {})
    out += ["", "## Web: `/moshez` against a bare twisted.web resource and nginx", ""]
    if "unavailable" in web:
        out.append(f"Not measured: {web['unavailable']}.")
    elif web:
        out += webSection(web)
    scale = r.get("scale", {})
    if scale:
        out += [
            "",
            "## Scale: status files of 1k, 100k and 1M users",
            "",
            "Measured inside `bench/scale.py`, a process running `FileFingerService` and a finger "
            "listener (pinned to core 0), with `fingerload -c 1` on core 1.  Stall: the largest "
            "lag of a 1 ms repeating timer from the change until 100 ms after the new table is "
            "served.  Query latency: `fingerload -c 1` while idle and while reloading back to back.",
            "",
            "| users | file MB | load s | load CPU s | MiB above empty | reload s | max stall ms | idle timer max lag ms | getUser ns | CPU us/query | idle p50/p99/max ms | during reload p50/p99/max ms |",
            "|---|---|---|---|---|---|---|---|---|---|---|---|",
        ]
        for users, s in scale.items():
            out.append(
                f"| {int(users):,} | {s['file_bytes'] / 1e6:.1f} | {_fmt(s['load_s'], 3)} | "
                f"{_fmt(s['load_cpu_s'], 3)} | {_fmt(s['rss_above_empty_mib'], 1)} | "
                f"{_fmt(s['reload_s'], 3)} | {_fmt(s['reload_stall_ms'], 1)} | {_fmt(s.get('idle_stall_ms'), 1)} | "
                f"{_fmt(s['lookup_ns'], 0)} | "
                f"{_fmt(s.get('query_cpu_us'), 0)} | "
                f"{_fmt(s['quiet_p50_ms'], 3)} / {_fmt(s['quiet_p99_ms'], 2)} / {_fmt(s['quiet_max_ms'], 2)} | "
                f"{_fmt(s['reload_p50_ms'], 3)} / {_fmt(s['reload_p99_ms'], 2)} / {_fmt(s['reload_max_ms'], 2)} |"
            )
    setter = r.get("setter")
    if setter:
        out += [
            "",
            "## Setter",
            "",
            f"Concurrent setter clients (`bench/setload.py`, a new connection per set, each "
            f"client setting its own users one at a time) against a {setter['users']:,}-user "
            "file; a set counts when the server answered `OK:`, which it does only once the "
            "status is durable.  Afterwards the file must hold every acknowledged status.",
            "",
            "| clients | sets/s | x 500 | p99 ms | errors | file holds every acknowledged set |",
            "|---|---|---|---|---|---|",
        ]
        for clients, row in setter["by_clients"].items():
            out.append(
                f"| {clients} | {_fmt(row['sets_per_s'])} | {_fmt(_ratio(row['sets_per_s'], 500.0))} | "
                f"{_fmt(row['p99_ms'], 1)} | {row['errors']} | {'yes' if row['durable_check'] else 'NO'} |"
            )
    out += sqlbench.markdown(r)
    out += workersbench.markdown(r)
    notes = r.get("notes")
    if notes:
        out += ["", "## Notes", ""] + [f"- {n}" for n in notes]
    return "\n".join(out) + "\n"


def write(results: Dict[str, Any], where: Path) -> None:
    where.mkdir(parents=True, exist_ok=True)
    (where / "report.json").write_text(json.dumps(results, indent=1, sort_keys=True) + "\n")
    (where / "report.md").write_text(markdown(results))


if __name__ == "__main__":
    import sys

    path = Path(sys.argv[1] if len(sys.argv) > 1 else Path(__file__).parent / "report.json")
    results = json.loads(path.read_text())
    print(markdown(results))
