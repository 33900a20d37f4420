"""Starting and stopping the services.

``serve`` runs one part in this process. ``up`` checks everything first (data directory, ports,
databases, migrations), binds the three listening sockets itself, then hands each socket to a child
``posturebridge serve`` process, so a taken port is reported before anything starts and no child
can lose a race for its port. Children die with the parent (PR_SET_PDEATHSIG) and are stopped with
SIGTERM on Ctrl-C or SIGTERM: no orphans.
"""

from __future__ import annotations

import ctypes
import errno
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING

from sqlalchemy import Engine

from posturebridge.common.database import make_engine, migrate
from posturebridge.common.errors import StartupError
from posturebridge.common.settings import PARTS, Part, Settings
from posturebridge.common.tls import client_context, ensure_tls

if TYPE_CHECKING:
    from fastapi import FastAPI

READY_TIMEOUT_S = 30.0
STOP_TIMEOUT_S = 10.0


def check_data_dir(path: Path) -> None:
    """The data directory exists (created if missing) and is writable."""
    try:
        path.mkdir(parents=True, exist_ok=True)
        probe = path / f".write-test-{os.getpid()}"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        raise StartupError(f"data directory {path} is not writable: {exc.strerror or exc}") from None


def bind_socket(host: str, port: int, part: Part) -> socket.socket:
    """A listening socket for ``part``, or a clear error when the port is taken."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as exc:
        raise StartupError(f"cannot resolve host {host!r} for the {part} service: {exc.strerror}") from None
    family, kind, proto, _, address = infos[0]
    sock = socket.socket(family, kind, proto)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(address)
        sock.listen(2048)
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            raise StartupError(f"port {port} on {host} for the {part} service is already in use") from None
        raise StartupError(f"cannot listen on {host}:{port} for the {part} service: {exc.strerror}") from None
    sock.set_inheritable(True)
    return sock


def prepare_database(settings: Settings, part: Part) -> Engine:
    """Engine for ``part`` with its schema migrated to this code's newest revision."""
    engine = make_engine(settings.database_url(part))
    try:
        migrate(engine, part)
    except StartupError:
        engine.dispose()
        raise
    return engine


def tls_paths(settings: Settings, part: Part) -> tuple[str, str] | None:
    if settings.scheme(part) != "https":
        return None
    files = ensure_tls(settings.tls_dir, settings.host)
    return str(files.server_cert), str(files.server_key)


def serve(settings: Settings, part: Part, *, fd: int | None = None) -> None:
    """Run one part until SIGINT/SIGTERM. Blocks."""
    import uvicorn

    check_data_dir(settings.data_dir)
    sock = socket.socket(fileno=fd) if fd is not None else bind_socket(settings.host, settings.port(part), part)
    # Started by a supervisor (an inherited socket): the supervisor migrates the database and made the TLS
    # material; the child only connects, so the three children import while the parent migrates.
    engine = make_engine(settings.database_url(part)) if fd is not None else prepare_database(settings, part)
    tls = tls_paths(settings, part)
    app = create_app(part, settings, engine)
    config = uvicorn.Config(
        app,
        log_level=settings.log_level,
        ssl_certfile=tls[0] if tls else None,
        ssl_keyfile=tls[1] if tls else None,
        timeout_graceful_shutdown=5,
        server_header=False,
        access_log=False,
    )
    server = uvicorn.Server(config)
    try:
        server.run(sockets=[sock])
    finally:
        engine.dispose()
        sock.close()


def _die_with_parent() -> None:
    """In the child: receive SIGTERM when the parent dies, however it dies (Linux only)."""
    try:
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        pr_set_pdeathsig = 1
        libc.prctl(pr_set_pdeathsig, signal.SIGTERM)
    except OSError:
        pass


@dataclass
class Child:
    part: Part
    process: subprocess.Popen[bytes]
    url: str


class Supervisor:
    """Starts services as child processes (``workers`` per part, sharing the part's listening socket) and
    stops them together."""

    def __init__(
        self,
        settings: Settings,
        *,
        parts: tuple[Part, ...] = PARTS,
        workers: int = 1,
        before_start: Callable[[Settings], None] | None = None,
        companions: Sequence[Sequence[str]] = (),
    ) -> None:
        if workers < 1:
            raise StartupError("--workers must be at least 1")
        self.settings = settings
        self.parts = parts
        self.workers = workers
        self.before_start = before_start
        self.companions = companions
        self.children: list[Child] = []
        self.companion_processes: list[subprocess.Popen[bytes]] = []
        self._stopping = False

    def start(self, on_ready: Callable[[list[Child]], None] | None = None) -> int:
        settings = self.settings
        check_data_dir(settings.data_dir)
        sockets = [bind_socket(settings.host, settings.port(part), part) for part in self.parts]
        previous = {sig: signal.signal(sig, self._on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
        try:
            try:
                for part in self.parts:
                    tls_paths(settings, part)
                # Children start importing (seconds of CPU each) while this process migrates and seeds; they
                # answer /healthz only after, and any failure here stops them before anything is served.
                for part, sock in zip(self.parts, sockets, strict=True):
                    self.children.extend(self._spawn(part, sock) for _ in range(self.workers))
            finally:
                for sock in sockets:
                    sock.close()
            for part in self.parts:
                prepare_database(settings, part).dispose()
            if self.before_start is not None:
                self.before_start(settings)
            self._wait_ready()
            if on_ready is not None:
                on_ready(self.children)
            self._start_companions()
            return self._watch()
        except BaseException:
            self.stop()
            raise
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)

    def _spawn(self, part: Part, sock: socket.socket) -> Child:
        settings = self.settings
        env = dict(os.environ)
        env.update(
            {
                "POSTUREBRIDGE_DATA_DIR": str(settings.data_dir),
                "POSTUREBRIDGE_HOST": settings.host,
                # every part's port: a service finds the others by them (the MDM calls the partner service)
                **{f"POSTUREBRIDGE_{other.upper()}_PORT": str(settings.port(other)) for other in PARTS},
                f"POSTUREBRIDGE_{part.upper()}_DATABASE_URL": settings.database_url(part),
                "POSTUREBRIDGE_DIRECTORY_TLS": "true" if settings.directory_tls else "false",
                "POSTUREBRIDGE_LOG_LEVEL": settings.log_level,
            }
        )
        # The child runs this module directly rather than the CLI: it skips importing every command.
        command = [sys.executable, "-m", "posturebridge.runner", part, str(sock.fileno())]
        process = subprocess.Popen(
            command, env=env, pass_fds=(sock.fileno(),), preexec_fn=_die_with_parent, stdin=subprocess.DEVNULL
        )
        return Child(part, process, settings.url(part))

    def _start_companions(self) -> None:
        """Commands that use the services (the demo fleet): started once they are healthy, stopped with them.
        A companion that exits does not stop the services."""
        for command in self.companions:
            if self._stopping:
                return
            self.companion_processes.append(
                subprocess.Popen(list(command), preexec_fn=_die_with_parent, stdin=subprocess.DEVNULL)
            )

    def _wait_ready(self) -> None:
        import httpx

        tls = self.settings.directory_tls and "directory" in self.parts
        verify = client_context(self.settings.ca_bundle) if tls else True
        deadline = time.monotonic() + READY_TIMEOUT_S
        with httpx.Client(verify=verify, timeout=2.0, trust_env=False) as client:
            for child in {child.part: child for child in self.children}.values():
                while True:
                    if self._stopping:
                        raise StartupError("stopped before the services were ready")
                    code = child.process.poll()
                    if code is not None:
                        raise StartupError(f"the {child.part} service exited with status {code} while starting")
                    try:
                        if client.get(f"{child.url}/healthz").status_code == 200:
                            break
                    except httpx.TransportError:
                        pass
                    if time.monotonic() > deadline:
                        raise StartupError(
                            f"the {child.part} service did not answer /healthz within {READY_TIMEOUT_S:.0f} s"
                        )
                    time.sleep(0.05)

    def _watch(self) -> int:
        while not self._stopping:
            for child in self.children:
                code = child.process.poll()
                if code is not None and not self._stopping:
                    self.stop()
                    raise StartupError(f"the {child.part} service stopped unexpectedly with status {code}")
            time.sleep(0.2)
        self.stop()
        return 0

    def _on_signal(self, _signum: int, _frame: FrameType | None) -> None:
        self._stopping = True

    def stop(self) -> None:
        self._stopping = True
        processes = [*self.companion_processes, *(child.process for child in self.children)]
        for process in processes:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + STOP_TIMEOUT_S
        for process in processes:
            try:
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def create_app(part: Part, settings: Settings, engine: Engine) -> FastAPI:
    if part == "directory":
        from posturebridge.directory.app import create_app as directory_app

        return directory_app(settings, engine)
    if part == "mdm":
        from posturebridge.mdm.app import create_app as mdm_app

        return mdm_app(settings, engine)
    from posturebridge.partner.app import create_app as partner_app

    return partner_app(settings, engine)


def _child_main(argv: list[str]) -> int:
    """``python -m posturebridge.runner PART FD``: one supervised part on an inherited socket (settings from the
    environment the supervisor passes)."""
    from posturebridge.common.errors import CommandError

    part = next((candidate for candidate in PARTS if argv[:1] == [candidate]), None)
    if part is None or len(argv) != 2 or not argv[1].isdigit():
        print("usage: python -m posturebridge.runner directory|mdm|partner FD", file=sys.stderr)
        return 2
    try:
        serve(Settings(), part, fd=int(argv[1]))
    except CommandError as exc:
        print(f"posturebridge: error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(_child_main(sys.argv[1:]))
