"""
Setter load: C{--clients} concurrent setter clients, each setting a random
user's status over and over for C{--seconds}, a new connection per set.  A
set counts once the server answered C{OK:}, which it does only after the
status is durable.  Prints one JSON object, with the last status acknowledged
for each user so that the caller can check the file holds them.
"""

import argparse
import asyncio
import json
import random
import time
from typing import Dict, List


async def client(port: int, users: int, mine: int, clients: int, until: float, latencies: List[float],
                 last: Dict[str, str], errors: List[str], rng: random.Random) -> None:
    n = 0
    while time.monotonic() < until:
        # Each client sets only its own users, one set at a time, so the last
        # status it saw acknowledged is the one the file must hold.
        user = f"user{rng.randrange(users // clients) * clients + mine}"
        status = f"set by the benchmark {rng.randrange(1 << 30)}"
        start = time.monotonic()
        try:
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(f"{user}\n{status}\n".encode())
            answer = await reader.read(1024)
            writer.close()
        except OSError as e:
            errors.append(str(e))
            continue
        if answer.startswith(b"OK:"):
            latencies.append(time.monotonic() - start)
            last[user] = status
        else:
            errors.append(answer.decode(errors="replace"))
        n += 1


async def main(args: argparse.Namespace) -> Dict[str, object]:
    latencies: List[float] = []
    last: Dict[str, str] = {}
    errors: List[str] = []
    rng = random.Random(7)
    start = time.monotonic()
    until = start + args.seconds
    await asyncio.gather(*[
        client(args.port, args.users, k, args.clients, until, latencies, last, errors,
               random.Random(rng.random()))
        for k in range(args.clients)
    ])
    took = time.monotonic() - start
    latencies.sort()
    return {
        "sets": len(latencies),
        "sets_per_s": len(latencies) / took,
        "p50_ms": latencies[len(latencies) // 2] * 1000 if latencies else None,
        "p99_ms": latencies[int(len(latencies) * 0.99)] * 1000 if latencies else None,
        "errors": len(errors),
        "first_errors": errors[:3],
        "last": last,
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--clients", type=int, default=64)
    parser.add_argument("--seconds", type=float, default=4)
    parser.add_argument("--users", type=int, default=100000)
    print(json.dumps(asyncio.run(main(parser.parse_args()))))
