"""
Issue 18: forged C{NOTIFY finger_status} from a PostgreSQL role with no
grants at all.

A throwaway PostgreSQL cluster is made in a temporary directory (with
L{tests.postgres}, so as root the server runs as C{postgres}), a node runs
C{--backend=sql} on it, and the role C{mallory}, which may connect and
nothing else (C{NOTIFY} is open to C{PUBLIC}), sends:

    1. a forged change: C{moshez} to "pwned" and an invented C{eve};
    2. statuses that are not text: C{null}, a number, a list, an object;
    3. 450,000 invented users in as few payloads as fit;
    4. a storm of empty C{NOTIFY}s for ten seconds.

After each it prints whether any status the node serves changed, whether
the listing, C{GET /} and a lookup still work, the node's CPU and memory,
and the latency of a legit finger client asking all along.

    python bench/attacks/notify.py
"""

import json
import sys
import time
import urllib.error
import urllib.request
from contextlib import ExitStack
from pathlib import Path
from typing import Any, Dict, List, Tuple

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(1, str(HERE.parent.parent))

from harness import LegitFinger, Service, fingerOnce, report  # noqa: E402

from tests import postgres  # noqa: E402

STATUS = "Happy and well"
MALFORMED: List[Tuple[str, Any]] = [
    ("n-null", None),
    ("n-number", 42),
    ("n-list", [1, 2]),
    ("n-object", {"a": 1}),
]


def mallory(cluster: postgres.Cluster) -> Any:
    """
    A connection as the role with no grants.
    """
    import psycopg

    return psycopg.connect(cluster.url.replace("finger@", "mallory@"), autocommit=True)


def finger(service: Service, query: str, timeout: float = 5.0) -> str:
    """
    The node's finger answer to C{query}, or why there was none.
    """
    try:
        return fingerOnce(service.fingerPort, query.encode("utf-8"), timeout).decode(
            "utf-8", "replace"
        ).strip()
    except OSError as e:
        return f"<no answer: {type(e).__name__}>"


def listing(service: Service) -> str:
    """
    How the listing looks: how many users it names, or its error.
    """
    answer = finger(service, "")
    lines = [line for line in answer.splitlines() if line.strip()]
    if not lines or "error" in answer.lower() or answer.startswith("<no answer"):
        return f"BROKEN: {answer[:80]!r}"
    more = 0
    if "more users not shown" in lines[-1]:
        more = int(lines[-1].strip("()").split()[0])
        lines = lines[:-1]
    return f"ok, {len(lines) + more} users"


def page(service: Service) -> str:
    """
    C{GET /}'s HTTP status.
    """
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{service.webPort}/", timeout=10) as r:
            return str(r.status)
    except urllib.error.HTTPError as e:
        return f"{e.code} BROKEN"
    except OSError as e:
        return f"<no answer: {e}> BROKEN"


def served(service: Service, names: List[str]) -> Dict[str, str]:
    return {name: finger(service, name)[:60] for name in names}


def snapshot(service: Service) -> Dict[str, str]:
    return {
        "listing": listing(service),
        "GET /": page(service),
        "finger moshez": finger(service, "moshez")[:60],
    }


def setStatus(service: Service, user: str, status: str) -> bytes:
    import socket

    assert service.setterPort is not None
    with socket.create_connection(("127.0.0.1", service.setterPort), timeout=10) as s:
        s.sendall(f"{user}\n{status}\n".encode("utf-8"))
        s.shutdown(socket.SHUT_WR)
        return s.recv(1024)


def settle(seconds: float = 1.0) -> None:
    time.sleep(seconds)


def main() -> None:
    why = postgres.missing()
    if why is not None:
        raise SystemExit(f"cannot run: {why}")
    with ExitStack() as stack:
        cluster = postgres.startCluster(stack.callback)
        cluster.query("CREATE ROLE mallory LOGIN")
        extra = ["--backend=sql", "--database", cluster.url]
        service = stack.enter_context(Service(extra, setter=True))
        print(f"node pid {service.pid} on {cluster.url}; role mallory has no grants")
        print(f"   set moshez: {setStatus(service, 'moshez', STATUS)!r}")
        with mallory(cluster) as connection:
            try:
                connection.execute("SELECT * FROM finger_status")
                print("   mallory can read the table (unexpected)")
            except Exception as e:
                print(f"   mallory reads the table: {type(e).__name__}: {str(e).strip()}")
        settle(0.5)
        print(f"   baseline: {snapshot(service)}")
        table = dict(cluster.query("SELECT name, status FROM finger_status"))

        # 1. A forged change.
        with LegitFinger(service.fingerPort) as legit:
            cpu = service.cpu()
            with mallory(cluster) as connection:
                forged = json.dumps([["moshez", "pwned by mallory"], ["eve", "forged"]])
                connection.execute("SELECT pg_notify('finger_status', %s)", (forged,))
            settle()
            after = served(service, ["moshez", "eve"])
            spent = service.cpu() - cpu
        changed = after["moshez"] != STATUS or "No such user" not in after["eve"]
        report(
            "1. forged NOTIFY (moshez -> 'pwned', new user eve)",
            legit,
            service,
            served=after,
            **{"status changed": "YES" if changed else "no"},
            cpu=spent,
            **snapshot(service),
        )
        setStatus(service, "moshez", STATUS)
        settle(0.5)

        # 2. Statuses that are not text.
        with LegitFinger(service.fingerPort) as legit:
            cpu = service.cpu()
            with mallory(cluster) as connection:
                for name, value in MALFORMED:
                    connection.execute(
                        "SELECT pg_notify('finger_status', %s)", (json.dumps([[name, value]]),)
                    )
            settle()
            lookups = served(service, [name for name, _ in MALFORMED])
            spent = service.cpu() - cpu
            state = snapshot(service)
        report(
            "2. NOTIFY with null, number, list and object statuses",
            legit,
            service,
            lookups=lookups,
            cpu=spent,
            **state,
        )

        # 3. 450,000 invented users.
        count = 450_000
        with LegitFinger(service.fingerPort) as legit:
            rss, cpu = service.rss(), service.cpu()
            started = time.monotonic()
            sent = 0
            with mallory(cluster) as connection:
                connection.autocommit = False
                batch: List[List[str]] = []
                size = 2
                for n in range(count):
                    pair = [f"x{n}", "i"]
                    cost = len(json.dumps(pair)) + 2
                    if size + cost > 7900:
                        connection.execute(
                            "SELECT pg_notify('finger_status', %s)", (json.dumps(batch),)
                        )
                        sent += 1
                        batch, size = [], 2
                        if sent % 100 == 0:
                            connection.commit()
                    batch.append(pair)
                    size += cost
                connection.execute("SELECT pg_notify('finger_status', %s)", (json.dumps(batch),))
                sent += 1
                connection.commit()
            elapsed = time.monotonic() - started
            settle(3)
            last = finger(service, f"x{count - 1}")[:60]
            spent = service.cpu() - cpu
            state = snapshot(service)
        report(
            f"3. {count} invented users in {sent} NOTIFYs",
            legit,
            service,
            **{"sent in (s)": elapsed, f"finger x{count - 1}": last},
            cpu=spent,
            **{"RSS growth (MiB)": service.rss() - rss},
            **state,
        )

        # 4. A storm of empty NOTIFYs.
        with LegitFinger(service.fingerPort) as legit:
            cpu = service.cpu()
            storm = 0
            with mallory(cluster) as connection:
                started = time.monotonic()
                while time.monotonic() - started < 10:
                    connection.execute("NOTIFY finger_status")
                    storm += 1
            settle()
            spent = service.cpu() - cpu
            state = snapshot(service)
        report(
            f"4. {storm} empty NOTIFYs in 10 s",
            legit,
            service,
            cpu=spent,
            **state,
        )

        now = dict(cluster.query("SELECT name, status FROM finger_status"))
        print(f"== the table itself changed: {'YES' if now != table else 'no'} ({len(now)} rows)")
        print("== log lines mentioning bad rows or errors:")
        for line in service.log().splitlines():
            if "Traceback" in line or "rror" in line or "skipped" in line:
                print(f"   {line[:160]}")


if __name__ == "__main__":
    main()
