"""A second checker process for big runs: half the hosts, checked on another core.

One event loop saturates with a thousand hosts in flight: its callbacks lag, and the
busiest host (whose politeness interval sets the run's length) loses time on every request.
A big run therefore hands about half of the hosts (never the busiest) to a child process
with its own loop, which streams its observations back; outage detection, recording and
progress stay in the parent. Hosts are partitioned, so per-host limits hold exactly.
"""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing
import signal
import threading
from collections.abc import AsyncIterator, Mapping, Sequence
from multiprocessing.connection import Connection
from typing import Any

from verifier.config import Settings
from verifier.errors import VerifierError
from verifier.models import Observation

LOCAL_SHARE = 0.35
"""The share of URLs checked here: less than half, since this process also has the busiest
host (whose requests must never wait for the loop), outage detection and recording."""


class ShardDiedError(VerifierError):
    """The second checker process ended without finishing its hosts."""


def split_hosts(by_host: Mapping[str, Sequence[str]]) -> tuple[list[str], list[str]]:
    """(hosts checked here, hosts for the second process): the busiest host stays here."""
    total = sum(len(urls) for urls in by_host.values())
    here: list[str] = []
    there: list[str] = []
    load = 0
    for host, urls in sorted(by_host.items(), key=lambda item: -len(item[1])):
        if not here or load + len(urls) <= LOCAL_SHARE * total:
            here.append(host)
            load += len(urls)
        else:
            there.append(host)
    return here, there


class ShardProcess:
    """The parent's handle on a child checker process (spawned, so no forked loop state)."""

    def __init__(self, settings: Settings, urls: list[str]) -> None:
        context = multiprocessing.get_context("spawn")
        self._connection, child = context.Pipe()
        self._process = context.Process(
            target=child_main, args=(settings, urls, child), daemon=True, name="verifier-shard"
        )
        self._child_end = child
        self.requests_sent = 0

    def start(self) -> None:
        self._process.start()
        self._child_end.close()

    def stop(self) -> None:
        """Start no new URL (requests in flight finish); idempotent."""
        with contextlib.suppress(OSError, ValueError):
            self._connection.send("stop")

    async def observations(self) -> AsyncIterator[Observation]:
        """The child's observations as they arrive, until it is done (or dies)."""
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[tuple[str, Any]] = asyncio.Queue()

        def read() -> None:
            while True:
                try:
                    message = self._connection.recv()
                except (EOFError, OSError):
                    message = ("gone", None)
                loop.call_soon_threadsafe(queue.put_nowait, message)
                if message[0] in ("done", "gone"):
                    return

        threading.Thread(target=read, daemon=True, name="verifier-shard-reader").start()
        while True:
            kind, payload = await queue.get()
            if kind == "obs":
                yield Observation.model_validate_json(payload)
            elif kind == "done":
                self.requests_sent = int(payload)
                return
            else:
                raise ShardDiedError("the second checker process died; the run can resume")

    async def close(self, grace: float = 10.0) -> None:
        self.stop()
        await asyncio.to_thread(self._process.join, grace)
        if self._process.is_alive():
            self._process.terminate()
            await asyncio.to_thread(self._process.join, 5.0)
        self._connection.close()


def child_main(settings: Settings, urls: list[str], connection: Connection) -> None:
    """Entry point of the child process. Ctrl-C or SIGTERM sent to the whole process group
    are the parent's to handle: it relays a stop (and a dead parent closes the pipe)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    asyncio.run(_child(settings, urls, connection))


async def _child(settings: Settings, urls: list[str], connection: Connection) -> None:
    from verifier.liveness import LinkChecker  # noqa: PLC0415 - liveness imports this module

    loop = asyncio.get_running_loop()
    stop = asyncio.Event()

    def listen() -> None:
        with contextlib.suppress(EOFError, OSError):
            while connection.recv() != "stop":
                pass
        loop.call_soon_threadsafe(stop.set)  # a stop request, or the parent is gone

    threading.Thread(target=listen, daemon=True).start()
    single = settings.model_copy(update={"http": settings.http.model_copy(update={"processes": 1})})

    def send(observation: Observation) -> None:
        connection.send(("obs", observation.model_dump_json()))

    async with LinkChecker(single) as checker:
        run = await checker.check_all(urls, on_result=send, stop=stop)
    connection.send(("done", run.requests_sent))
