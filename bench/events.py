"""
The event stream under load (issue 21): C{twistd finger} runs as a process
with a status file of C{--users} users; the benchmark opens C{--streams}
streams at C{/api/events} (raw sockets, read by another process: L{hold}),
and measures

    - what they cost the server: its resident memory before and after they
      opened;
    - how long a set through the setter takes to reach every stream: the
      time from sending the set to each stream reading the event, over
      C{--sets} sets (p50, p99, max over every stream and set);
    - whether finger queries keep their speed: C{--concurrency} finger
      clients asking for one user as fast as they can for C{--seconds},
      with a set every half second, with no stream open and then with
      every stream open, interleaved C{--rounds} times (medians): queries a
      second, their latency, and the server's CPU time per query (which
      counts the sets and the events sent meanwhile too).

The streams are read by another process so that reading them does not slow
the finger clients, which run in this one.

Prints one JSON object.  Run from a checkout:
C{python bench/events.py} (it runs this checkout's twistd).
"""

import argparse
import asyncio
import json
import os
import resource
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from typing import Any, Dict, List, Optional

CHECKOUT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def freePort() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def rssMiB(pid: int) -> float:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


CLK_TCK = os.sysconf("SC_CLK_TCK")


def cpuSeconds(pid: int) -> float:
    """
    The CPU time (user and system, all threads) a process has used.
    """
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def waitForPort(port: int, process: "subprocess.Popen[bytes]", timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"twistd exited with {process.returncode}")
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise RuntimeError(f"nothing listens on {port}")


class Stream:
    """
    One open event stream: when each status event arrived, by status.
    """

    def __init__(self) -> None:
        self.opened = asyncio.Event()
        self.arrivals: Dict[str, float] = {}
        self.writer: Optional[asyncio.StreamWriter] = None

    async def run(self, port: int, arrived: "asyncio.Queue[str]") -> None:
        reader, self.writer = await asyncio.open_connection("127.0.0.1", port)
        self.writer.write(b"GET /api/events HTTP/1.1\r\nHost: bench\r\n\r\n")
        buffer = b""
        while True:
            data = await reader.read(65536)
            if not data:
                return
            now = time.monotonic()
            buffer += data
            if not self.opened.is_set() and b"retry: " in buffer:
                self.opened.set()
            # Chunk sizes and event framing are read loosely: only the
            # status each event carries is wanted.
            while b'"status": "' in buffer:
                start = buffer.index(b'"status": "') + len(b'"status": "')
                end = buffer.find(b'"', start)
                if end < 0:
                    break
                status = buffer[start:end].decode()
                self.arrivals[status] = now
                arrived.put_nowait(status)
                buffer = buffer[end:]


async def hold(port: int, count: int) -> None:
    """
    The readers, in a process of their own so that reading 1,000 streams
    does not slow this process's finger clients: open C{count} streams,
    say so on standard output, then for each status every stream read, a
    line of JSON with the times (C{time.monotonic}, the same clock in
    every process) each read it; end when standard input closes.
    """
    arrived: "asyncio.Queue[str]" = asyncio.Queue()
    streams = [Stream() for _ in range(count)]
    tasks = [asyncio.ensure_future(stream.run(port, arrived)) for stream in streams]
    await asyncio.wait_for(asyncio.gather(*[s.opened.wait() for s in streams]), timeout=60)
    print(json.dumps({"ready": count}), flush=True)
    loop = asyncio.get_running_loop()
    stdin = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(stdin), sys.stdin)
    closed = asyncio.ensure_future(stdin.read())
    counts: Dict[str, int] = {}
    while not closed.done():
        getting = asyncio.ensure_future(arrived.get())
        await asyncio.wait([getting, closed], return_when=asyncio.FIRST_COMPLETED)
        if not getting.done():
            getting.cancel()
            break
        status = getting.result()
        counts[status] = counts.get(status, 0) + 1
        if counts[status] == count:
            times = [stream.arrivals[status] for stream in streams]
            print(json.dumps({"status": status, "arrivals": times}), flush=True)
    for task in tasks:
        task.cancel()


class Holder:
    """
    The process holding the streams open (L{hold}), seen from the main one.
    """

    def __init__(self, process: "asyncio.subprocess.Process") -> None:
        self.process = process
        self.heard: Dict[str, List[float]] = {}
        self.ready = asyncio.Event()
        self.reading = asyncio.ensure_future(self._read())

    @classmethod
    async def start(cls, port: int, count: int) -> "Holder":
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            os.path.abspath(__file__),
            "--hold",
            str(count),
            "--port",
            str(port),
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            limit=1 << 24,
        )
        holder = cls(process)
        await asyncio.wait_for(holder.ready.wait(), timeout=90)
        return holder

    async def _read(self) -> None:
        assert self.process.stdout is not None
        async for line in self.process.stdout:
            report = json.loads(line)
            if "ready" in report:
                self.ready.set()
            else:
                self.heard[report["status"]] = report["arrivals"]

    async def stop(self) -> None:
        assert self.process.stdin is not None
        self.process.stdin.close()
        await self.process.wait()


async def setStatus(port: int, user: str, status: str) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(f"{user}\n{status}\n".encode())
    answer = await reader.read(1024)
    writer.close()
    if not answer.startswith(b"OK"):
        raise RuntimeError(f"set refused: {answer!r}")


async def fingerLoad(
    port: int, concurrency: int, seconds: float, server: int = 0
) -> Dict[str, float]:
    """
    Finger queries as fast as C{concurrency} clients can ask, and the CPU
    time the C{server} process spent on each.
    """
    latencies: List[float] = []
    cpu = cpuSeconds(server) if server else 0.0
    until = time.monotonic() + seconds

    async def client() -> None:
        while time.monotonic() < until:
            start = time.monotonic()
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(b"user7\r\n")
            answer = await reader.read()
            writer.close()
            if not answer:
                raise RuntimeError("empty finger answer")
            latencies.append(time.monotonic() - start)

    start = time.monotonic()
    await asyncio.gather(*[client() for _ in range(concurrency)])
    took = time.monotonic() - start
    latencies.sort()
    spent = cpuSeconds(server) - cpu if server else 0.0
    return {
        "queries_per_s": len(latencies) / took,
        "server_cpu_us_per_query": spent / len(latencies) * 1e6,
        "p50_ms": latencies[len(latencies) // 2] * 1000,
        "p99_ms": latencies[int(len(latencies) * 0.99)] * 1000,
    }


async def main(args: argparse.Namespace) -> Dict[str, Any]:
    directory = tempfile.mkdtemp(prefix="finger-events-bench-")
    path = os.path.join(directory, "users")
    with open(path, "w") as f:
        for i in range(args.users):
            f.write(f"user{i}: status {i}\n")
    fingerPort, webPort, setterPort = freePort(), freePort(), freePort()
    process = subprocess.Popen(
        [sys.executable, "-c", "from twisted.scripts.twistd import run; run()"]
        + ["--nodaemon", "--pidfile=", "--logfile", os.path.join(directory, "twistd.log")]
        + ["finger", "--file", path, "--no-pb", "--finger-rate", "0", "--web-rate", "0"]
        + ["--max-connections", str(args.streams + 1000)]
        + ["--events-max", str(args.streams + 10)]
        + ["--fingerport", f"tcp:{fingerPort}:interface=127.0.0.1:backlog=1024"]
        + ["--webport", f"tcp:{webPort}:interface=127.0.0.1:backlog=1024"]
        + ["--setterport", f"tcp:{setterPort}:interface=127.0.0.1"],
        cwd=directory,
        env={**os.environ, "PYTHONPATH": CHECKOUT},
    )
    holder: Optional[Holder] = None
    try:
        waitForPort(setterPort, process)
        waitForPort(webPort, process)
        await fingerLoad(fingerPort, args.concurrency, 1.0)  # warm up
        await asyncio.sleep(1)
        before = rssMiB(process.pid)
        holder = await Holder.start(webPort, args.streams)
        await asyncio.sleep(1)
        after = rssMiB(process.pid)

        # A set reaches every stream.
        delays: List[float] = []
        for n in range(args.sets):
            status = f"bench set {n}"
            sent = time.monotonic()
            await setStatus(setterPort, "user7", status)
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline and status not in holder.heard:
                await asyncio.sleep(0.01)
            if status not in holder.heard:
                raise RuntimeError(f"not every stream read {status!r}")
            delays.extend(arrival - sent for arrival in holder.heard[status])
            await asyncio.sleep(0.2)
        delays.sort()
        await holder.stop()
        holder = None

        # Finger queries, with no stream and with every stream open.
        await asyncio.sleep(1)
        without: List[Dict[str, float]] = []
        with_: List[Dict[str, float]] = []
        async def measured(port: int) -> Dict[str, float]:
            # A set every half second, streams or not: what differs is
            # only the streams.
            stop = asyncio.Event()

            async def setter() -> None:
                n = 0
                while not stop.is_set():
                    await setStatus(setterPort, "user8", f"during load {n}")
                    n += 1
                    await asyncio.sleep(0.5)

            setting = asyncio.ensure_future(setter())
            result = await fingerLoad(port, args.concurrency, args.seconds, process.pid)
            stop.set()
            await setting
            return result

        for _ in range(args.rounds):
            without.append(await measured(fingerPort))
            holder = await Holder.start(webPort, args.streams)
            await asyncio.sleep(0.5)
            with_.append(await measured(fingerPort))
            await holder.stop()
            holder = None
            await asyncio.sleep(1)

        def med(runs: List[Dict[str, float]], key: str) -> float:
            return statistics.median(run[key] for run in runs)

        return {
            "streams": args.streams,
            "users": args.users,
            "rss_before_mib": round(before, 1),
            "rss_with_streams_mib": round(after, 1),
            "streams_cost_mib": round(after - before, 1),
            "set_to_stream_p50_ms": round(delays[len(delays) // 2] * 1000, 1),
            "set_to_stream_p99_ms": round(delays[int(len(delays) * 0.99)] * 1000, 1),
            "set_to_stream_max_ms": round(delays[-1] * 1000, 1),
            "finger_qps_without": round(med(without, "queries_per_s"), 1),
            "finger_qps_with": round(med(with_, "queries_per_s"), 1),
            "finger_qps_ratio": round(
                med(with_, "queries_per_s") / med(without, "queries_per_s"), 3
            ),
            "finger_p50_ms_without": round(med(without, "p50_ms"), 2),
            "finger_p50_ms_with": round(med(with_, "p50_ms"), 2),
            "finger_p99_ms_without": round(med(without, "p99_ms"), 2),
            "finger_p99_ms_with": round(med(with_, "p99_ms"), 2),
            "server_cpu_us_per_query_without": round(med(without, "server_cpu_us_per_query"), 1),
            "server_cpu_us_per_query_with": round(med(with_, "server_cpu_us_per_query"), 1),
            "each_round": {"without": without, "with": with_},
            "rounds": args.rounds,
        }
    finally:
        if holder is not None:
            await holder.stop()
        process.terminate()
        process.wait()


def run() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--streams", type=int, default=1000)
    parser.add_argument("--users", type=int, default=1000)
    parser.add_argument("--sets", type=int, default=10)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--hold", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = min(hard, max(soft, 2 * args.streams + 2048))
    resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
    if args.hold:
        asyncio.run(hold(args.port, args.hold))
    else:
        print(json.dumps(asyncio.run(main(args)), indent=2))


if __name__ == "__main__":
    run()
