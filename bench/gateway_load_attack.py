"""The hostile crowd of ``bench_gateway_load``: many concurrent HTTP/1.1 clients in one process.

Each client is a task on its own keep-alive connection speaking raw HTTP/1.1
(asyncio streams, not httpx): a few hundred clients then cost this process far
less CPU than the server, and a client can send what httpx will not (invented
methods, thousands of query parameters). Four kinds:

- ``valid``: a noisy tenant's real keys on the list endpoints (it meets its rate limit);
- ``badkey``: well-formed but unknown keys and garbage, each client from its own
  loopback address (``127.0.1.x``) as separate attackers would be;
- ``params``: a query string of ``PARAMS_FLOOD`` parameters (issue 12 #6);
- ``methods``: invented HTTP methods, a new one each request (issue 12 #7).

Run by the bench as ``python -m bench.gateway_load_attack HOST PORT START END RATE KEYS MIX``
(``MIX``: ``valid=40,badkey=60,...``, clients per kind);
prints one JSON document: answers per kind and status (or error class).
"""

from __future__ import annotations

import asyncio
import json
import secrets
import sys
import time
from collections import Counter, defaultdict

# Just under h11's 16 KiB head limit, so the app (not the parser) must refuse it.
PARAMS_FLOOD = 3_000
# A request stuck longer than this counts as an error and its connection is dropped.
REQUEST_TIMEOUT_S = 10.0
KINDS = ("valid", "badkey", "params", "methods")
PATHS = ("/v1/anomalies?limit=50", "/v1/recommendations?limit=50", "/v1/alerts?limit=50")
Stats = defaultdict[str, Counter[str]]


def request(kind: str, client: int, n: int, keys: list[str]) -> bytes:
    """The ``n``-th request of one client of ``kind``."""
    path = PATHS[n % len(PATHS)]
    auth = f"Bearer {keys[client % len(keys)]}"
    method = "GET"
    if kind == "badkey":
        auth = f"Bearer ssk_{secrets.token_hex(8)}_{secrets.token_urlsafe(24)}"
        if n % 4 == 0:
            auth = "Bearer " + secrets.token_urlsafe(40)
    elif kind == "params":
        names = (f"p{i}=1" for i in range(PARAMS_FLOOD))
        path = "/v1/anomalies?" + "&".join(names)
    elif kind == "methods":
        method = f"X{client:03d}N{n:07d}"
    head = f"{method} {path} HTTP/1.1\r\nHost: gateway\r\nAuthorization: {auth}\r\n\r\n"
    return head.encode()


async def read_response(reader: asyncio.StreamReader) -> tuple[int, bool]:
    """(status, whether the server will close) of one response; its body is drained."""
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = dict(line.lower().split(": ", 1) for line in lines[1:] if ": " in line)
    await reader.readexactly(int(headers.get("content-length", "0")))
    return status, headers.get("connection") == "close"


async def client(
    kind: str, index: int, target: tuple[str, int], window: tuple[float, float],
    rate: float, keys: list[str], stats: Stats, of: int,
) -> None:  # fmt: skip
    """Send ``rate`` requests/s from ``window[0]`` to ``window[1]`` (wall clock), one at a time."""
    host, port = target
    start, end = window
    # Attackers each from their own address, as on a network; the noisy tenant
    # (like the legitimate client) from 127.0.0.1.
    local = None if kind == "valid" else f"127.0.{KINDS.index(kind)}.{1 + index}"
    due = start + (index / of) / rate  # spread the first requests over one interval
    writer: asyncio.StreamWriter | None = None
    n = 0
    while True:
        now = time.time()
        if due >= end:
            break
        await asyncio.sleep(max(0.0, due - now))
        due = max(due + 1 / rate, time.time())  # never catch up in a burst
        try:
            if writer is None:
                reader, writer = await asyncio.open_connection(
                    host, port, local_addr=(local, 0) if local else None
                )
            writer.write(request(kind, index, n, keys))
            status, closing = await asyncio.wait_for(read_response(reader), REQUEST_TIMEOUT_S)
            stats[kind][str(status)] += 1
            if closing:
                writer.close()
                writer = None
        except (OSError, asyncio.IncompleteReadError, TimeoutError, ValueError) as exc:
            stats[kind][type(exc).__name__] += 1
            if writer is not None:
                writer.close()
            writer = None
        n += 1
    if writer is not None:
        writer.close()


async def crowd(target: tuple[str, int], window: tuple[float, float], rate: float,
                keys: list[str], mix: dict[str, int]) -> Stats:  # fmt: skip
    """Every client of ``mix`` at once."""
    stats: Stats = defaultdict(Counter)
    await asyncio.gather(
        *(
            client(kind, i, target, window, rate, keys, stats, count)
            for kind, count in mix.items()
            for i in range(count)
        )
    )
    return stats


def parse_mix(text: str) -> dict[str, int]:
    """``"valid=40,badkey=60"`` -> ``{"valid": 40, "badkey": 60}`` (kinds checked)."""
    mix = {k: int(v) for k, v in (item.split("=") for item in text.split(",") if item)}
    unknown = set(mix) - set(KINDS)
    if unknown:
        raise SystemExit(f"unknown client kinds {sorted(unknown)}; use {', '.join(KINDS)}")
    return mix


def main(argv: list[str]) -> None:
    """Entry point; see the module docstring for the arguments."""
    host, port, start, end, rate, keys, mix = argv
    window = (float(start), float(end))
    stats = asyncio.run(
        crowd((host, int(port)), window, float(rate), keys.split(","), parse_mix(mix))
    )
    print(json.dumps({kind: dict(counts) for kind, counts in stats.items()}), flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
