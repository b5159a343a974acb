# SPDX-License-Identifier: GPL-2.0-or-later
# Copyright (c) 2026 tangolab developers
"""Shared fixtures: a fake build directory whose "QEMU" is a small Python script.

The fake QEMU behaves like QEMU with the tangolab guest, as far as the
orchestrator can tell: a QMP server on every ``-qmp unix:`` socket, the
serial console on stdio (raw terminal, echo of typed input, commands run by
/bin/sh, Ctrl-C), QEMU's host-forwarding error for a busy port, and an SSH
server (paramiko) on the forwarded port that accepts the build's key. Kernel
command-line words ``fake.NAME=VALUE`` select misbehaviour:
mode=ok|panic|exit|exit-early|hang|noprompt, stubborn=1 (ignores SIGTERM and QMP quit),
sshdelay=S (SSH port resets connections for S seconds), bootdelay=S.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

FAKE_QEMU = r'''
import json, os, select, signal, socket, subprocess, sys, termios, threading, time

argv = sys.argv[1:]
def values(flag):
    return [argv[i + 1] for i, a in enumerate(argv[:-1]) if a == flag]
append = (values("-append") or [""])[0]
fake = dict(w[5:].split("=", 1) for w in append.split() if w.startswith("fake.") and "=" in w)
mode = fake.get("mode", "ok")
sockets = [v.split(",")[0][len("unix:"):] for v in values("-qmp")]
PROMPT = b"tangolab# "
PANIC = (b"Kernel panic - not syncing: VFS: Unable to mount root fs on unknown-block(0,0)\r\n"
         b"CPU: 0 PID: 1 Comm: swapper/0 Not tainted 6.12.0 #1\r\n"
         b"---[ end Kernel panic - not syncing: VFS: Unable to mount root fs ]---\r\n")

def out(data):
    os.write(1, data)

def forever():
    while True:
        time.sleep(60)

def cleanup_and_exit(code=0):
    for path in sockets:
        try:
            os.unlink(path)
        except OSError:
            pass
    os._exit(code)

if mode == "exit-early":
    sys.stderr.write("qemu-system-arm: -M tango4: fake early failure\n")
    sys.exit(1)
signal.signal(signal.SIGTERM, signal.SIG_IGN if fake.get("stubborn") else
              lambda *a: cleanup_and_exit(0))
if os.isatty(0):
    attrs = termios.tcgetattr(0)
    attrs[0] &= ~(termios.ICRNL | termios.IXON | termios.INLCR | termios.IGNCR)
    attrs[3] &= ~(termios.ECHO | termios.ICANON | termios.ISIG | termios.IEXTEN)
    termios.tcsetattr(0, termios.TCSANOW, attrs)

props = {"/machine/sbox": {"latency-ns": 0, "bytes-dropped": 0}}
running = ["running"]
clients = []

def reply(conn, obj):
    conn.sendall(json.dumps(obj).encode() + b"\r\n")

def event(name):
    ev = {"event": name, "data": {}, "timestamp": {"seconds": int(time.time()), "microseconds": 0}}
    for c in list(clients):
        try:
            reply(c, ev)
        except OSError:
            pass

def messages(conn):
    """QMP input is a stream of JSON objects, not necessarily one per line."""
    decoder, buf = json.JSONDecoder(), ""
    while True:
        data = conn.recv(65536)
        if not data:
            return
        buf += data.decode()
        while buf.strip():
            try:
                msg, end = decoder.raw_decode(buf.lstrip())
            except ValueError:
                break
            buf = buf.lstrip()[end:]
            yield msg

def handle(conn):
    reply(conn, {"QMP": {"version": {"qemu": {"major": 10, "minor": 0, "micro": 13},
                                      "package": "fake"}, "capabilities": ["oob"]}})
    clients.append(conn)
    for msg in messages(conn):
        cmd, args, ident = msg.get("execute"), msg.get("arguments", {}), msg.get("id")
        ans = {"return": {}}
        if cmd == "query-status":
            ans = {"return": {"status": running[0], "running": running[0] == "running"}}
        elif cmd in ("stop", "cont"):
            running[0] = "paused" if cmd == "stop" else "running"
            event("STOP" if cmd == "stop" else "RESUME")
        elif cmd in ("qom-get", "qom-set"):
            obj = props.get(args.get("path"))
            prop = args.get("property")
            if obj is None:
                ans = {"error": {"class": "DeviceNotFound",
                                 "desc": f"Device '{args.get('path')}' not found"}}
            elif prop not in obj:
                ans = {"error": {"class": "GenericError", "desc": f"Property '{prop}' not found"}}
            elif cmd == "qom-get":
                ans = {"return": obj[prop]}
            elif prop == "bytes-dropped":
                ans = {"error": {"class": "GenericError",
                                 "desc": "Insufficient permission to perform this operation"}}
            else:
                obj[prop] = args.get("value")
        elif cmd == "quit" and not fake.get("stubborn"):
            reply(conn, dict(ans, id=ident) if ident is not None else ans)
            event("SHUTDOWN")
            cleanup_and_exit(0)
        elif cmd not in ("qmp_capabilities", "quit"):  # a stubborn QEMU ignores quit
            ans = {"error": {"class": "CommandNotFound",
                             "desc": f"The command {cmd} has not been found"}}
        if ident is not None:
            ans["id"] = ident
        reply(conn, ans)
    clients.remove(conn)

def serve_qmp(path):
    srv = socket.socket(socket.AF_UNIX)
    try:
        os.unlink(path)
    except OSError:
        pass
    srv.bind(path)
    srv.listen(4)
    while True:
        conn, _ = srv.accept()
        try:
            handle(conn)
        except (OSError, ValueError):
            pass
        conn.close()

for path in sockets:
    threading.Thread(target=serve_qmp, args=(path,), daemon=True).start()

def serve_ssh(srv, port):
    import paramiko
    initrd = (values("-initrd") or ["."])[0]
    pub = os.path.join(os.path.dirname(initrd), "ssh", "id_ed25519.pub")
    authorized = open(pub).read().split()[1]
    host_key = paramiko.RSAKey.generate(1024)
    until = time.monotonic() + float(fake.get("sshdelay", 0))

    def run(channel, command):
        time.sleep(0.05)
        p = subprocess.run(["sh", "-c", command], stdin=subprocess.DEVNULL,
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        channel.sendall(p.stdout)
        channel.send_exit_status(p.returncode)
        channel.close()

    class Server(paramiko.ServerInterface):
        def check_channel_request(self, kind, chanid):
            return paramiko.OPEN_SUCCEEDED if kind == "session" else \
                paramiko.OPEN_FAILED_ADMINISTRATIVELY_PROHIBITED
        def get_allowed_auths(self, username):
            return "publickey"
        def check_auth_publickey(self, username, key):
            ok = username == "root" and key.get_base64() == authorized
            return paramiko.AUTH_SUCCESSFUL if ok else paramiko.AUTH_FAILED
        def check_channel_exec_request(self, channel, command):
            threading.Thread(target=run, args=(channel, command.decode()), daemon=True).start()
            return True

    while True:
        conn, _ = srv.accept()
        if time.monotonic() < until:
            conn.close()  # like QEMU's slirp before dropbear listens
            continue
        t = paramiko.Transport(conn)
        t.add_server_key(host_key)
        try:
            t.start_server(server=Server())
        except Exception:
            conn.close()

for nic in values("-netdev"):
    fwd = [p for p in nic.split(",") if p.startswith("hostfwd=")]
    if fwd:
        rule = fwd[0][len("hostfwd="):]
        port = int(rule.split(":")[2].split("-")[0])
        srv = socket.socket()
        try:
            srv.bind(("127.0.0.1", port))
        except OSError:
            sys.stderr.write(f"qemu-system-arm: -netdev {nic}: Could not set up host forwarding "
                             f"rule '{rule}'\n")
            cleanup_and_exit(1)
        srv.listen(8)
        threading.Thread(target=serve_ssh, args=(srv, port), daemon=True).start()

out(b"Booting Linux on physical CPU 0x0\r\nLinux version 6.12.0-fake (tangolab)\r\n")
sys.stderr.write("fake-qemu: started\n")
sys.stderr.flush()
time.sleep(float(fake.get("bootdelay", 0)))
if mode == "panic":
    out(PANIC)
    forever()
if mode == "exit":
    sys.stderr.write("qemu-system-arm: fake: machine check, exiting\n")
    cleanup_and_exit(3)
if mode == "hang":
    forever()
out(b"Run /init as init process\r\ntangolab: userspace ready\r\n")
if mode == "noprompt":
    forever()
out(PROMPT)

def execute(line):
    if b"fake-panic" in line:
        out(PANIC)
        forever()
    if not line.strip():
        out(PROMPT)
        return
    p = subprocess.Popen(["sh", "-c", line], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT, start_new_session=True)
    fd = p.stdout.fileno()
    while True:
        ready, _, _ = select.select([fd, 0], [], [])
        if 0 in ready and b"\x03" in os.read(0, 1024):
            os.killpg(p.pid, signal.SIGKILL)
            out(b"^C\r\n")
            break
        if fd in ready:
            data = os.read(fd, 65536)
            if not data:
                break
            out(data.replace(b"\n", b"\r\n"))
    p.wait()
    out(PROMPT)

line = b""
while True:
    data = os.read(0, 4096)
    if not data:
        forever()
    for byte in data:
        ch = bytes([byte])
        if ch == b"\x03":
            out(b"^C\r\n" + PROMPT)
            line = b""
        elif ch in (b"\r", b"\n"):
            out(b"\r\n")
            execute(line)
            line = b""
        else:
            out(ch)
            line += ch
'''


def write_fake_build(build: Path) -> Path:
    """A build directory with the fake QEMU, dummy kernel files and a real SSH key,
    where `tangolab.build.artifacts.Artifacts.in_dir` puts them."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from tangolab.build.artifacts import Artifacts

    art = Artifacts.in_dir(build)
    for path in art.paths().values():
        path.parent.mkdir(parents=True, exist_ok=True)
    art.qemu.write_text(f"#!{sys.executable}\n{FAKE_QEMU}")
    art.qemu.chmod(0o755)
    art.qemu_img.write_text("#!/bin/sh\necho 'fake qemu-img' >&2\nexit 1\n")
    art.qemu_img.chmod(0o755)
    art.kernel.write_bytes(b"fake zImage")
    art.dtb.write_bytes(b"fake dtb")
    art.initrd.write_bytes(b"fake initramfs")
    key = Ed25519PrivateKey.generate()
    private = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.OpenSSH,
        serialization.NoEncryption(),
    )
    public = key.public_key().public_bytes(
        serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH
    )
    art.ssh_key.write_bytes(private)
    art.ssh_key.chmod(0o600)
    art.ssh_key.with_suffix(".pub").write_bytes(public + b" tangolab\n")
    return build


@pytest.fixture
def fake_build(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fake build directory, also made the default via $TANGOLAB_BUILD."""
    build = write_fake_build(tmp_path / "build")
    monkeypatch.setenv("TANGOLAB_BUILD", str(build))
    monkeypatch.delenv("TANGOLAB_QEMU", raising=False)
    return build


def _child_pids() -> set[int]:
    """Children of this process (running or zombie), from /proc."""
    me = os.getpid()
    found = set()
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                fields = f.read().rpartition(")")[2].split()
        except OSError:
            continue
        if int(fields[1]) == me:
            found.add(int(entry))
    return found


@pytest.fixture
def child_pids() -> Callable[[], set[int]]:
    """Returns a function listing the current children of the test process."""
    return _child_pids


@pytest.fixture
def make_fake_build() -> Callable[[Path], Path]:
    """Returns `write_fake_build`, for tests that need another fake build directory."""
    return write_fake_build
