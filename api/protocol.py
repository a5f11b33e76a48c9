"""uvicorn's httptools protocol with read deadlines and a bound on the request head: slow or oversized clients are
cut off.

uvicorn has a keep-alive timeout between requests, but nothing bounds how long a request takes to arrive: a
client trickling one header byte at a time keeps its connection (and its slot) forever. `guarded_httptools` gives
uvicorn a protocol class where a request's line and headers must arrive within `header_timeout_s` of the
connection opening or of the previous response (then 408 and close), and its body within `body_timeout_s` of
its headers (then close).

httptools (llhttp) does not bound a head either: it gathers each header field until it is complete. So a head
still arriving is counted here, every read after the one it began in, and refused past `max_head_bytes` (400 and
close): what is buffered of an unfinished head stays under that bound plus one read. A head that arrived whole is
parsed whatever its size; `rxcheck.api.headerlimit` answers it 431.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any, Literal

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

Phase = Literal["head", "body"] | None
Message = Literal["idle", "head", "body", "done"]  # where the latest request is: not begun, in its head...

_TIMEOUT_BODY = json.dumps(
    {"error": {"code": "request_timeout", "message": "the request headers did not arrive in time"}}
).encode()
TIMEOUT_RESPONSE = (
    b"HTTP/1.1 408 Request Timeout\r\ncontent-type: application/json\r\nconnection: close\r\n"
    b"x-content-type-options: nosniff\r\ncache-control: no-store\r\n"
    b"content-length: " + str(len(_TIMEOUT_BODY)).encode() + b"\r\n\r\n" + _TIMEOUT_BODY
)
HEAD_TOO_LARGE = "Request headers too large."


def guarded_httptools(
    *, header_timeout_s: float, body_timeout_s: float, max_head_bytes: int
) -> type[HttpToolsProtocol]:
    """A `HttpToolsProtocol` subclass with these deadlines and this head bound, for `uvicorn.Config(http=...)`."""
    return type(
        "GuardedHttpToolsProtocol",
        (GuardedHttpToolsProtocol,),
        {"header_timeout_s": header_timeout_s, "body_timeout_s": body_timeout_s, "max_head_bytes": max_head_bytes},
    )


class GuardedHttpToolsProtocol(HttpToolsProtocol):
    header_timeout_s: float = 10.0
    body_timeout_s: float = 60.0
    max_head_bytes: int = 16 * 1024

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._message: Message = "idle"
        self._head_bytes = 0
        self._phase: Phase = None
        self._deadline: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._follow()

    def data_received(self, data: bytes) -> None:
        if self._message == "head":
            self._head_bytes += len(data)
        super().data_received(data)
        if self.transport.is_closing():
            return
        if self._message == "head" and self._head_bytes > self.max_head_bytes:
            self.logger.info("closing a connection: the request head is larger than %d bytes", self.max_head_bytes)
            if self._answering():
                self.transport.close()
            else:
                self.send_400_response(HEAD_TOO_LARGE)
            return
        self._follow()

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._message, self._head_bytes = "head", 0

    def on_headers_complete(self) -> None:
        super().on_headers_complete()
        self._message = "body"

    def on_message_complete(self) -> None:
        super().on_message_complete()
        self._message = "done"

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if self._message == "done" and not self._answering():
            self._message = "idle"
        self._follow()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def _answering(self) -> bool:
        """Whether a response is still owed for a request received (the app is at work)."""
        return self.cycle is not None and not self.cycle.response_complete

    def _follow(self) -> None:
        """Start the deadline of what the client is sending now, when that changed. While the app works on a
        request, the client is not timed."""
        phase: Phase = None
        if self._message == "body":
            phase = "body"
        elif self._message in ("idle", "head") and not self._answering():
            phase = "head"
        if phase == self._phase:
            return
        self._disarm()
        self._phase = phase
        if phase is not None and not self.transport.is_closing():
            timeout = self.header_timeout_s if phase == "head" else self.body_timeout_s
            self._deadline = self.loop.call_later(timeout, self._timed_out)

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _timed_out(self) -> None:
        self._deadline = None
        if self.transport.is_closing():
            return
        self.logger.info("closing a connection: the request %s did not arrive in time", self._phase)
        if self._phase == "head" and self._message == "head":  # part of a head arrived
            self.transport.write(TIMEOUT_RESPONSE)
        self.transport.close()
