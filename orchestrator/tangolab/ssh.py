# SPDX-License-Identifier: GPL-2.0-or-later
# Copyright (c) 2026 tangolab developers
"""SSH to the guest's dropbear through QEMU user networking (paramiko)."""

from __future__ import annotations

import contextlib
import errno
import socket
import time
from collections.abc import Callable
from pathlib import Path

import paramiko

from tangolab.console import CommandResult
from tangolab.errors import PortBusyError, SshError

LOCALHOST = "127.0.0.1"


class SshTimeout(SshError):
    """A command run over SSH did not finish in time."""


def free_port() -> int:
    """A TCP port on 127.0.0.1 that is free right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((LOCALHOST, 0))
        port: int = s.getsockname()[1]
        return port


def check_port_free(port: int) -> None:
    """Raise PortBusyError when `port` cannot be bound on 127.0.0.1."""
    if not 1 <= port <= 65535:
        raise PortBusyError(f"invalid TCP port {port}: must be 1..65535")
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        try:
            s.bind((LOCALHOST, port))
        except OSError as e:
            if e.errno in (errno.EADDRINUSE, errno.EACCES):
                raise PortBusyError(
                    f"TCP port {port} on {LOCALHOST} is busy ({e.strerror}): pick another "
                    "port, or let tangolab choose a free one"
                ) from None
            raise


class _AcceptGuestHostKey(paramiko.MissingHostKeyPolicy):
    """The guest makes a fresh host key at every boot: accept it, store nothing."""

    def missing_host_key(
        self, client: paramiko.SSHClient, hostname: str, key: paramiko.PKey
    ) -> None:
        return None


class SshSession:
    """SSH connection to root@guest, forwarded to 127.0.0.1:`port`."""

    def __init__(self, port: int, key_path: Path, *, user: str = "root", host: str = LOCALHOST):
        self.port = port
        self.key_path = Path(key_path)
        self.user = user
        self.host = host
        self._client: paramiko.SSHClient | None = None

    @property
    def connected(self) -> bool:
        return self._client is not None

    def _load_key(self) -> paramiko.PKey:
        try:
            return paramiko.Ed25519Key.from_private_key_file(str(self.key_path))
        except (OSError, paramiko.SSHException) as e:
            raise SshError(f"cannot read the SSH key {self.key_path}: {e}") from None

    def connect(self, timeout: float = 60.0, alive: Callable[[], bool] | None = None) -> None:
        """Connect, retrying until dropbear answers or `timeout` runs out.

        QEMU's port forwarding accepts TCP connections before the guest
        listens, so refused / reset connections and missing banners are
        retried; an authentication failure is not.
        """
        if self._client is not None:
            return
        key = self._load_key()
        deadline = time.monotonic() + timeout
        while True:
            if alive is not None and not alive():
                raise SshError("QEMU went away while waiting for SSH")
            remaining = deadline - time.monotonic()
            client = paramiko.SSHClient()
            client.set_missing_host_key_policy(_AcceptGuestHostKey())
            try:
                client.connect(
                    self.host,
                    port=self.port,
                    username=self.user,
                    pkey=key,
                    timeout=max(1.0, min(10.0, remaining)),
                    banner_timeout=max(1.0, min(10.0, remaining)),
                    auth_timeout=max(1.0, min(20.0, remaining)),
                    allow_agent=False,
                    look_for_keys=False,
                )
            except paramiko.AuthenticationException as e:
                client.close()
                raise SshError(
                    f"the guest refused the SSH key {self.key_path} for {self.user}: {e}"
                ) from None
            except (OSError, EOFError, paramiko.SSHException) as e:
                client.close()
                if time.monotonic() + 0.5 >= deadline:
                    raise SshError(
                        f"no SSH answer from the guest on {self.host}:{self.port} within "
                        f"{timeout:g} s (last error: {type(e).__name__}: {e})"
                    ) from None
                time.sleep(0.5)
                continue
            self._client = client
            return

    def run(self, cmd: str, timeout: float | None = 60.0) -> CommandResult:
        """Run `cmd` in the guest; exit status and output (stdout + stderr).

        A command that ends by a signal gives status -1 (ssh reports no status).
        """
        if self._client is None:
            raise SshError("SSH is not connected")
        transport = self._client.get_transport()
        if transport is None or not transport.is_active():
            raise SshError("the SSH connection to the guest is closed")
        deadline = None if timeout is None else time.monotonic() + timeout
        try:
            channel = transport.open_session(timeout=10.0)
        except (paramiko.SSHException, OSError, EOFError) as e:
            raise SshError(f"cannot open an SSH channel: {e}") from None
        chunks: list[bytes] = []
        try:
            channel.set_combine_stderr(True)
            channel.exec_command(cmd)
            while True:
                if deadline is not None:
                    remaining = deadline - time.monotonic()
                    if remaining <= 0:
                        raise SshTimeout(
                            f"guest command {cmd!r} did not finish within {timeout:g} s"
                        )
                    channel.settimeout(min(remaining, 1.0))
                else:
                    channel.settimeout(1.0)
                try:
                    data = channel.recv(65536)
                except TimeoutError:
                    continue
                if not data:
                    break
                chunks.append(data)
            while not channel.exit_status_ready():
                if deadline is not None and time.monotonic() >= deadline:
                    raise SshTimeout(f"guest command {cmd!r} did not finish within {timeout:g} s")
                time.sleep(0.01)
            status = channel.recv_exit_status()
        except (paramiko.SSHException, OSError, EOFError) as e:
            raise SshError(f"SSH command {cmd!r} failed: {e}") from None
        finally:
            channel.close()
        text = b"".join(chunks).decode("utf-8", errors="replace")
        return CommandResult(status, text)

    def close(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            with contextlib.suppress(Exception):
                client.close()
