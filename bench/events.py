"""
The event stream under load (issue 21): C{twistd finger} runs as a process
with a status file of C{--users} users; the benchmark opens C{--streams}
streams at C{/api/events} (raw sockets, in this process), and measures

    - what they cost the server: its resident memory before and after they
      opened;
    - how long a set through the setter takes to reach every stream: the
      time from sending the set to each stream reading the event, over
      C{--sets} sets (p50, p99, max over every stream and set);
    - whether finger queries keep their speed: C{--concurrency} finger
      clients asking for one user as fast as they can for C{--seconds},
      with no stream open, then with every stream open and a set every
      half second, interleaved C{--rounds} times (medians).

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

    async def run(self, port: int) -> None:
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
                self.arrivals[buffer[start:end].decode()] = now
                buffer = buffer[end:]

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()


async def setStatus(port: int, user: str, status: str) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(f"{user}\n{status}\n".encode())
    answer = await reader.read(1024)
    writer.close()
    if not answer.startswith(b"OK"):
        raise RuntimeError(f"set refused: {answer!r}")


async def fingerLoad(port: int, concurrency: int, seconds: float) -> Dict[str, float]:
    """
    Finger queries as fast as C{concurrency} clients can ask.
    """
    latencies: List[float] = []
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
    return {
        "queries_per_s": len(latencies) / took,
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
    streams: List[Stream] = []
    tasks: List["asyncio.Task[None]"] = []
    try:
        waitForPort(setterPort, process)
        waitForPort(webPort, process)
        await fingerLoad(fingerPort, args.concurrency, 1.0)  # warm up
        await asyncio.sleep(1)
        before = rssMiB(process.pid)

        async def openStreams() -> None:
            for _ in range(args.streams):
                stream = Stream()
                streams.append(stream)
                tasks.append(asyncio.ensure_future(stream.run(webPort)))
            await asyncio.wait_for(
                asyncio.gather(*[s.opened.wait() for s in streams]), timeout=60
            )

        def closeStreams() -> None:
            for stream in streams:
                stream.close()
            for task in tasks:
                task.cancel()
            streams.clear()
            tasks.clear()

        await openStreams()
        await asyncio.sleep(1)
        after = rssMiB(process.pid)

        # A set reaches every stream.
        delays: List[float] = []
        for n in range(args.sets):
            status = f"bench set {n}"
            sent = time.monotonic()
            await setStatus(setterPort, "user7", status)
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline and not all(status in s.arrivals for s in streams):
                await asyncio.sleep(0.01)
            missing = sum(status not in s.arrivals for s in streams)
            if missing:
                raise RuntimeError(f"{missing} streams never read {status!r}")
            delays.extend(s.arrivals[status] - sent for s in streams)
            await asyncio.sleep(0.2)
        delays.sort()

        # Finger queries, with no stream and with every stream open.
        closeStreams()
        await asyncio.sleep(1)
        without: List[Dict[str, float]] = []
        with_: List[Dict[str, float]] = []
        for _ in range(args.rounds):
            without.append(await fingerLoad(fingerPort, args.concurrency, args.seconds))
            await openStreams()
            stop = asyncio.Event()

            async def setter() -> None:
                n = 0
                while not stop.is_set():
                    await setStatus(setterPort, "user8", f"during load {n}")
                    n += 1
                    await asyncio.sleep(0.5)

            setting = asyncio.ensure_future(setter())
            with_.append(await fingerLoad(fingerPort, args.concurrency, args.seconds))
            stop.set()
            await setting
            closeStreams()
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
            "rounds": args.rounds,
        }
    finally:
        for stream in streams:
            stream.close()
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
    args = parser.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = min(hard, max(soft, 2 * args.streams + 2048))
    resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
    print(json.dumps(asyncio.run(main(args)), indent=2))


if __name__ == "__main__":
    run()
