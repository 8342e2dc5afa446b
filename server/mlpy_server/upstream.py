"""A small HTTP/1.1 keep-alive client for the router's hop to a variant (plain http on the cluster network).

The router's per-request budget is a few tens of microseconds; general clients (httpx) spend hundreds
on their request and response models. This one writes the request bytes itself and parses the answer
with httptools (the parser uvicorn uses), over pooled asyncio connections.
"""

from __future__ import annotations

import asyncio
import collections
from collections.abc import Mapping
from typing import cast
from urllib.parse import urlsplit

import httptools

MAX_IDLE_PER_UPSTREAM = 128


class UpstreamConnectionError(ConnectionError):
    """The upstream closed or refused the connection, or sent something that is not HTTP."""


class UpstreamTimeoutError(TimeoutError):
    """No answer (or no connection) within the router's upstream timeout."""


class _Connection(asyncio.Protocol):
    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.parser = httptools.HttpResponseParser(self)
        self.waiter: asyncio.Future[None] | None = None
        self.status = 0
        self.content_type = b"application/json"
        self.header_length: bytes | None = None  # the binary tensor extension's JSON length
        self.chunks: list[bytes] = []
        self.closed = False
        self.received = False
        self.keep_alive = False

    # asyncio.Protocol
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports implement the interface without deriving from asyncio.Transport.
        self.transport = cast(asyncio.Transport, transport)

    def data_received(self, data: bytes) -> None:
        self.received = True
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError as exc:
            self._fail(UpstreamConnectionError(f"invalid HTTP response: {exc}"))
            self.close()

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self._fail(UpstreamConnectionError(f"connection closed by upstream{f': {exc}' if exc else ''}"))

    # httptools callbacks
    def on_header(self, name: bytes, value: bytes) -> None:
        name = name.lower()
        if name == b"content-type":
            self.content_type = value
        elif name == b"inference-header-content-length":
            self.header_length = value

    def on_headers_complete(self) -> None:
        self.status = self.parser.get_status_code()
        # Read here: the parser only knows it while the message is being parsed.
        self.keep_alive = self.parser.should_keep_alive()

    def on_body(self, body: bytes) -> None:
        self.chunks.append(body)

    def on_message_complete(self) -> None:
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_result(None)

    # ours
    def _expire(self, waiter: asyncio.Future[None], timeout_s: float) -> None:
        if not waiter.done():
            waiter.set_exception(UpstreamTimeoutError(f"no answer within {timeout_s}s"))
            self.close()

    def _fail(self, exc: Exception) -> None:
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_exception(exc)

    def close(self) -> None:
        self.closed = True
        if self.transport is not None:
            self.transport.close()

    async def exchange(self, request: bytes, timeout_s: float) -> tuple[int, bytes, dict[str, str]]:
        loop = asyncio.get_running_loop()
        waiter = self.waiter = loop.create_future()
        self.status, self.chunks, self.received = 0, [], False
        self.content_type, self.header_length = b"application/json", None
        assert self.transport is not None
        self.transport.write(request)
        # A plain timer is cheaper than asyncio.wait_for, which wraps the future for every request.
        timer = loop.call_later(timeout_s, self._expire, waiter, timeout_s)
        try:
            await waiter
        finally:
            timer.cancel()
            self.waiter = None
        headers = {"content-type": self.content_type.decode("latin-1")}
        if self.header_length is not None:
            headers["inference-header-content-length"] = self.header_length.decode("latin-1")
        return self.status, b"".join(self.chunks), headers

    @property
    def reusable(self) -> bool:
        return not self.closed and self.keep_alive


class UpstreamPool:
    """Keep-alive connections per upstream base URL; ``post`` retries once when a pooled one went stale."""

    def __init__(self, timeout_s: float) -> None:
        self.timeout_s = timeout_s
        self._idle: dict[tuple[str, int], collections.deque[_Connection]] = {}
        self._targets: dict[str, tuple[str, int, str, str]] = {}

    def _target(self, base_url: str) -> tuple[str, int, str, str]:
        target = self._targets.get(base_url)
        if target is None:
            parts = urlsplit(base_url)
            if parts.scheme != "http" or not parts.hostname:
                raise UpstreamConnectionError(f"unsupported upstream {base_url!r}: use http://HOST:PORT")
            target = (parts.hostname, parts.port or 80, parts.netloc, parts.path.rstrip("/"))
            self._targets[base_url] = target
        return target

    async def post(
        self, base_url: str, path: str, body: bytes, headers: Mapping[str, str]
    ) -> tuple[int, bytes, dict[str, str]]:
        """Status, body, and the response headers a client needs: content type, and the binary
        tensor extension's Inference-Header-Content-Length when the variant sent one."""
        return await self._send("POST", base_url, path, body, headers)

    async def get(
        self, base_url: str, path: str, headers: Mapping[str, str]
    ) -> tuple[int, bytes, dict[str, str]]:
        """As ``post``, for the reads the router passes on (model metadata and readiness)."""
        return await self._send("GET", base_url, path, b"", headers)

    async def _send(
        self, method: str, base_url: str, path: str, body: bytes, headers: Mapping[str, str]
    ) -> tuple[int, bytes, dict[str, str]]:
        host, port, netloc, prefix = self._target(base_url)
        request = _request_bytes(method, prefix + path, netloc, body, headers)
        idle = self._idle.setdefault((host, port), collections.deque())
        while idle:
            connection = idle.pop()
            if connection.closed:
                continue
            try:
                return await self._finish(connection, request, idle)
            except UpstreamConnectionError:
                if connection.received:
                    raise
                # A pooled connection the upstream had already closed: the request was never read.
        connection = await self._connect(host, port)
        return await self._finish(connection, request, idle)

    async def _connect(self, host: str, port: int) -> _Connection:
        loop = asyncio.get_running_loop()
        try:
            _, protocol = await asyncio.wait_for(
                loop.create_connection(_Connection, host, port), self.timeout_s
            )
        except TimeoutError as exc:
            raise UpstreamTimeoutError(f"cannot connect to {host}:{port} within {self.timeout_s}s") from exc
        except OSError as exc:
            raise UpstreamConnectionError(f"cannot connect to {host}:{port}: {exc.strerror or exc}") from exc
        return protocol

    async def _finish(
        self, connection: _Connection, request: bytes, idle: collections.deque[_Connection]
    ) -> tuple[int, bytes, dict[str, str]]:
        status, content, headers = await connection.exchange(request, self.timeout_s)
        if connection.reusable and len(idle) < MAX_IDLE_PER_UPSTREAM:
            idle.append(connection)
        else:
            connection.close()
        return status, content, headers

    def close(self) -> None:
        for idle in self._idle.values():
            while idle:
                idle.pop().close()


def _request_bytes(method: str, path: str, host: str, body: bytes, headers: Mapping[str, str]) -> bytes:
    lines = [f"{method} {path} HTTP/1.1", f"host: {host}", f"content-length: {len(body)}"]
    for name, value in headers.items():
        if "\r" in value or "\n" in value or "\r" in name or "\n" in name:
            continue
        lines.append(f"{name}: {value}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body
