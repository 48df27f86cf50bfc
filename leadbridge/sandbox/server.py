"""Run an ASGI app (an emulator) with uvicorn on a background thread, over HTTP or HTTPS."""

from __future__ import annotations

import socket
import threading
import time
from types import TracebackType

import uvicorn
from starlette.types import ASGIApp

from leadbridge.sandbox.tls import SandboxTls


class BackgroundServer:
    """A real local server for one emulator; port 0 picks a free port (see .port after start)."""

    def __init__(
        self,
        *,
        app: ASGIApp,
        host: str = "127.0.0.1",
        port: int = 0,
        tls: SandboxTls | None = None,
    ) -> None:
        self.host = host
        self.tls = tls
        # Naming TCP lets asyncio switch off Nagle on accepted connections; without it every
        # reused keep-alive request waits ~40 ms for the delayed ACK.
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        self._socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._socket.bind((host, port))
        self.port: int = self._socket.getsockname()[1]
        config = uvicorn.Config(
            app,
            log_level="warning",
            access_log=False,
            lifespan="off",
            ssl_certfile=str(tls.cert_file) if tls else None,
            ssl_keyfile=str(tls.key_file) if tls else None,
            timeout_keep_alive=30,
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._run, name=f"sandbox-{self.port}", daemon=True)

    @property
    def base_url(self) -> str:
        """The URL clients use, e.g. https://127.0.0.1:8443."""
        scheme = "https" if self.tls else "http"
        return f"{scheme}://{self.host}:{self.port}"

    def _run(self) -> None:
        self._server.run(sockets=[self._socket])

    def start(self, *, timeout: float = 10.0) -> BackgroundServer:
        """Start serving and wait until the server accepts connections."""
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"sandbox server on port {self.port} did not start")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        """Ask uvicorn to exit; idle keep-alive clients must not hold the shutdown up."""
        self._server.should_exit = True
        self._thread.join(timeout=1)
        if self._thread.is_alive():
            self._server.force_exit = True
            self._thread.join(timeout=10)
        self._socket.close()

    def __enter__(self) -> BackgroundServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
