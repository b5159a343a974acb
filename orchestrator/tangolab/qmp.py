# SPDX-License-Identifier: GPL-2.0-or-later
# Copyright (c) 2026 tangolab developers
"""Synchronous QMP client on top of qemu.qmp, with its own event-loop thread.

qemu.qmp is asyncio-based. Its legacy synchronous wrapper drives the calling
thread's event loop, which breaks when that thread already runs one (pytest
plugins, notebooks) and only reads the socket while a call is in progress.
`QmpClient` instead runs a private event loop in a daemon thread: calls work
from any thread, events are collected as they come, and every call has a
time-out.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import threading
import time
from collections.abc import Callable, Coroutine, Mapping
from concurrent.futures import TimeoutError as FutureTimeout
from pathlib import Path
from typing import Any, TypeVar

from qemu.qmp import ConnectError, ExecInterruptedError, ExecuteError, QMPClient, QMPError

from tangolab.closing import Closing
from tangolab.errors import QmpCommandError, QmpError

_T = TypeVar("_T")

#: Longest path a Unix socket address can hold (sun_path is 108 bytes with the NUL).
MAX_SOCKET_PATH = 107


class QmpClient(Closing):
    """One QMP connection to QEMU listening on a Unix socket."""

    def __init__(self, socket_path: Path | str, *, timeout: float = 30.0) -> None:
        self.socket_path = Path(socket_path)
        self.timeout = timeout
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self._loop.run_forever, name="tangolab-qmp", daemon=True
        )
        self._thread.start()
        self._client: QMPClient | None = None
        self._lock = threading.Lock()
        self._greeting: dict[str, Any] = {}

    # --- plumbing ------------------------------------------------------------

    def _call(self, coro: Coroutine[Any, Any, _T], timeout: float | None) -> _T:
        if not self._thread.is_alive():
            coro.close()
            raise QmpError("QMP client is closed")
        future = asyncio.run_coroutine_threadsafe(coro, self._loop)
        deadline = None if timeout is None else time.monotonic() + timeout
        try:
            while True:
                # Wait in slices so that Ctrl-C reaches the main thread promptly.
                remaining = 0.1 if deadline is None else deadline - time.monotonic()
                try:
                    return future.result(max(0.0, min(remaining, 0.1)))
                except (FutureTimeout, TimeoutError):
                    if future.done() or (deadline is not None and time.monotonic() >= deadline):
                        raise
        except BaseException:
            future.cancel()
            raise

    @property
    def connected(self) -> bool:
        return self._client is not None

    @property
    def greeting(self) -> dict[str, Any]:
        return dict(self._greeting)

    # --- connection ----------------------------------------------------------

    def connect(
        self, timeout: float | None = None, alive: Callable[[], bool] | None = None
    ) -> dict[str, Any]:
        """Connect and negotiate capabilities, retrying until QEMU listens.

        `alive` is polled between attempts; when it returns False the wait
        stops at once (QEMU is gone). Returns QEMU's greeting.
        """
        if self._client is not None:
            return self.greeting
        if len(os.fsencode(self.socket_path)) > MAX_SOCKET_PATH:
            raise QmpError(f"QMP socket path too long for a Unix socket: {self.socket_path}")
        timeout = self.timeout if timeout is None else timeout
        deadline = time.monotonic() + timeout
        last: BaseException | None = None
        while True:
            if alive is not None and not alive():
                raise QmpError(f"QEMU went away before its QMP socket {self.socket_path} answered")
            if self.socket_path.exists():
                try:
                    self._greeting = self._call(
                        self._connect_once(), max(0.5, deadline - time.monotonic())
                    )
                    return self.greeting
                except (ConnectError, OSError, TimeoutError, FutureTimeout) as e:
                    last = e
            if time.monotonic() >= deadline:
                why = f" (last error: {last})" if last else " (the socket never appeared)"
                raise QmpError(f"no QMP answer on {self.socket_path} within {timeout:g} s{why}")
            time.sleep(0.05)

    async def _connect_once(self) -> dict[str, Any]:
        client = QMPClient("tangolab")
        try:
            await client.connect(str(self.socket_path))
        except BaseException:
            with contextlib.suppress(Exception):
                await client.disconnect()
            raise
        self._client = client
        greeting = client.greeting
        return dict(greeting._asdict()) if greeting is not None else {}

    def close(self) -> None:
        """Disconnect (errors of a connection QEMU already closed are ignored)."""
        client, self._client = self._client, None
        if client is not None and self._thread.is_alive():
            with contextlib.suppress(Exception):
                self._call(client.disconnect(), 5.0)
        if self._thread.is_alive():
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(5.0)
        if not self._thread.is_alive() and not self._loop.is_closed():
            self._loop.close()

    # --- commands ------------------------------------------------------------

    def command(
        self,
        name: str,
        args: Mapping[str, object] | None = None,
        *,
        timeout: float | None = None,
    ) -> Any:
        """Execute one QMP command; its "return" value.

        QEMU's error replies raise QmpCommandError (with QEMU's error class
        and description); a lost connection or a time-out raise QmpError.
        """
        client = self._client
        if client is None:
            raise QmpError("QMP is not connected")
        timeout = self.timeout if timeout is None else timeout
        with self._lock:
            try:
                return self._call(client.execute(name, dict(args or {})), timeout)
            except ExecuteError as e:
                raise QmpCommandError(name, e.error_class, str(e)) from None
            except ExecInterruptedError as e:
                raise QmpError(f"QMP connection lost during {name!r}: {e}") from None
            except (TimeoutError, FutureTimeout):
                raise QmpError(f"QMP command {name!r} got no answer within {timeout:g} s") from None
            except (QMPError, OSError, EOFError) as e:
                raise QmpError(f"QMP command {name!r} failed: {e}") from None

    def events(self, wait: float = 0.0) -> list[dict[str, Any]]:
        """Events received so far (and clears them).

        With `wait` > 0 and none pending, waits up to that long for one.
        """
        client = self._client
        if client is None:
            raise QmpError("QMP is not connected")

        async def collect() -> list[dict[str, Any]]:
            listener = client.events
            got = [dict(ev) for ev in listener.clear()]
            if not got and wait > 0:
                with contextlib.suppress(asyncio.TimeoutError):
                    ev = await asyncio.wait_for(listener.get(), wait)
                    got.append(dict(ev))
            return got

        return self._call(collect(), wait + 5.0)
