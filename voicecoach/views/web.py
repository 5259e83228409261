"""The live web view: one page, readable across the room, that follows the coach.

A small Starlette app served by uvicorn in a background thread. The page (``web/live.html``,
everything inline: it works with no network beyond this machine) gets the one
:class:`~voicecoach.views.model.ViewState` pushed as Server-Sent Events on every change, and
four times a second while a countdown runs or a microphone level is shown. ``/history`` shows the pain chart of the
history (``report.write_chart``), ``/pictures/NAME.svg`` the position drawings.

It binds 127.0.0.1 unless ``lan`` is set (the setting ``view.web_lan``): the page shows
what the coach says and hears, so anyone on the network could read it. Every request must
name this machine in its ``Host`` header (a loopback name, or with ``lan`` the address the
request came in on or the machine's name), so a page on another site cannot read ``/state``
through DNS rebinding; every answer carries a strict Content-Security-Policy. Position
pictures are shown as ``<img>`` (scripts in an SVG image never run), never as markup.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import re
import socket
import tempfile
import threading
import time
from importlib import resources
from pathlib import Path
from typing import Callable, Iterable

from voicecoach.views.model import ViewModel, ViewState

WEB = resources.files("voicecoach.views") / "pages"  # the pages, read from the installed package
TICK_S = 0.25  # real seconds between pushes while a countdown runs
LINGER_S = 1.0  # real seconds the last state is still served after the session ends
MAX_CONNECTIONS = 200  # open connections served at once (each open page holds one for its updates)


LOOPBACK = {"localhost", "127.0.0.1", "::1", "localhost.localdomain"}


def host_allowed(host_header: str | None, server: tuple[str, int] | None, lan: bool,
                 own_names: frozenset[str] = frozenset()) -> bool:
    """Does a request's ``Host`` header name this server? A loopback name, or with ``lan`` the
    local address the connection came in on (``server``) or one of ``own_names``; a port,
    if given, must be the server's."""
    if not host_header or len(host_header) > 300:
        return False
    found = re.fullmatch(r"(\[[0-9A-Fa-f:.]+\]|[^\[\]:/\s@]+)(?::(\d{1,5}))?", host_header.strip())
    if not found:
        return False
    name, port = found.group(1).strip("[]").lower().rstrip("."), found.group(2)
    if port is not None and server is not None and int(port) != server[1]:
        return False
    if name in LOOPBACK:
        return True
    return lan and (name == (server[0].lower() if server else None) or name in own_names)


def _own_names() -> frozenset[str]:
    """This machine's names and the addresses they resolve to (for ``lan``)."""
    names = {socket.gethostname().lower(), socket.getfqdn().lower()}
    try:
        names |= {info[4][0].lower() for n in list(names) for info in socket.getaddrinfo(n, None)}
    except OSError:
        pass
    return frozenset(n for n in names if n)


def csp_for(html: str) -> str:
    """A Content-Security-Policy for a page: nothing from elsewhere, only its own inline script
    and style blocks (by hash), no plug-ins, no framing, no forms, no base changes."""
    def hashes(tag: str) -> str:
        bodies = re.findall(rf"<{tag}>(.*?)</{tag}>", html, re.S)
        return " ".join(f"'sha256-{base64.b64encode(hashlib.sha256(b.encode()).digest()).decode()}'"
                        for b in bodies) or "'none'"
    return (f"default-src 'none'; script-src {hashes('script')}; style-src {hashes('style')}; "
            "img-src 'self'; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'")


PICTURE_CSP = "default-src 'none'; style-src 'unsafe-inline'; sandbox; frame-ancestors 'none'"


class Guard:
    """ASGI middleware: refuses requests for another host (421), adds the security headers to
    every answer, and turns any failure into a plain 500 (no traceback in the log)."""

    def __init__(self, app, lan: bool):
        self.app, self.lan = app, lan
        self.own = _own_names() if lan else frozenset()

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        host = next((v.decode("latin-1") for k, v in scope.get("headers", []) if k == b"host"), None)
        if not host_allowed(host, scope.get("server"), self.lan, self.own):
            return await self._plain(send, 421, b"This page answers only to this machine's own address.")
        started = False

        async def send_with_headers(message):
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                headers = [(k, v) for k, v in message.get("headers", []) if k.lower() != b"content-security-policy"]
                own_csp = [v for k, v in message.get("headers", []) if k.lower() == b"content-security-policy"]
                headers += [(b"content-security-policy", own_csp[0] if own_csp else b"default-src 'none'; frame-ancestors 'none'"),
                            (b"x-content-type-options", b"nosniff"), (b"x-frame-options", b"DENY"),
                            (b"referrer-policy", b"no-referrer"), (b"cross-origin-resource-policy", b"same-origin")]
                message = {**message, "headers": headers}
            await send(message)

        try:
            await self.app(scope, receive, send_with_headers)
        except Exception:  # noqa: BLE001 - a broken request must not print a traceback
            if not started:
                await self._plain(send, 500, b"Something went wrong on this page.")

    @staticmethod
    async def _plain(send, status: int, body: bytes) -> None:
        await send({"type": "http.response.start", "status": status,
                    "headers": [(b"content-type", b"text/plain; charset=utf-8"), (b"x-content-type-options", b"nosniff"),
                                (b"content-security-policy", b"default-src 'none'; frame-ancestors 'none'")]})
        await send({"type": "http.response.body", "body": body})


class WebView:
    """Serves the live page for ``model`` on ``http://host:port/`` (port 0: any free port)."""

    def __init__(self, model: ViewModel, clock: Callable[[], float], history: Path | None = None,
                 port: int = 8765, lan: bool = False, routine_dirs: Iterable[Path] = ()):
        self.model, self.clock, self.history = model, clock, history
        self.host = "0.0.0.0" if lan else "127.0.0.1"
        self.lan = lan
        self.port = port
        self.routine_dirs = list(routine_dirs)
        self._clients: set[asyncio.Queue] = set()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._server = None
        self._thread: threading.Thread | None = None
        model.watch(self._changed)

    # ------------------------------------------------------------------ lifecycle
    @property
    def url(self) -> str:
        host = "127.0.0.1" if self.host == "0.0.0.0" else self.host
        return f"http://{host}:{self.port}/"

    def start(self) -> str:
        """Start serving; returns the page's address once it accepts connections."""
        import uvicorn
        # "error": a request that is not HTTP (a scan, junk) is answered 400, not logged on the
        # terminal the session shows its lines on
        # a bound on open connections: half-sent requests left open (or a page opened in
        # hundreds of tabs) get "503" beyond it instead of using up the process's file handles
        config = uvicorn.Config(self.app(), host=self.host, port=self.port, log_level="error",
                                lifespan="off", access_log=False, limit_concurrency=MAX_CONNECTIONS)
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, name="voicecoach-web", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise OSError(f"the web view could not listen on {self.host}:{self.port}")
            time.sleep(0.02)
        self.port = self._server.servers[0].sockets[0].getsockname()[1]
        return self.url

    def stop(self) -> None:
        if self._server is None:
            return
        time.sleep(LINGER_S if self._clients else 0)  # let open pages get the last state
        self._server.should_exit = True
        if self._thread:
            self._thread.join(timeout=5)
        self._server = None

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.stop()
        return False

    # ------------------------------------------------------------------ pushing state
    def _changed(self, state: ViewState) -> None:
        """From the session's thread: queue the new state for every open page."""
        loop = self._loop
        if loop is None or not self._clients:
            return
        snap = self.model.snapshot(self.clock())
        for queue in list(self._clients):
            loop.call_soon_threadsafe(queue.put_nowait, snap)

    async def _stream(self, queue: asyncio.Queue):
        try:
            yield {"data": json.dumps(self.model.snapshot(self.clock()))}
            while True:
                try:
                    snap = await asyncio.wait_for(queue.get(), TICK_S)
                except asyncio.TimeoutError:
                    snap = self.model.snapshot(self.clock())
                    if snap["seconds_left"] is None and snap["level_db"] is None:
                        yield {"comment": "still here"}  # keeps proxies and the page's watchdog calm
                        continue
                yield {"data": json.dumps(snap)}
        finally:
            self._clients.discard(queue)

    # ------------------------------------------------------------------ the app
    def app(self):
        from sse_starlette.sse import EventSourceResponse
        from starlette.applications import Starlette
        from starlette.responses import FileResponse, HTMLResponse, JSONResponse, PlainTextResponse, Response
        from starlette.routing import Route

        from voicecoach.content.routine import find_picture

        live_html = (WEB / "live.html").read_text(encoding="utf-8")
        history_html = (WEB / "history.html").read_text(encoding="utf-8")

        async def live(request):
            return HTMLResponse(live_html, headers={"Content-Security-Policy": csp_for(live_html)})

        async def events(request):
            self._loop = asyncio.get_running_loop()
            queue: asyncio.Queue = asyncio.Queue()
            self._clients.add(queue)
            return EventSourceResponse(self._stream(queue), ping=15)

        async def state(request):
            return JSONResponse(self.model.snapshot(self.clock()))

        async def picture(request):
            path = find_picture(request.path_params["name"], self.routine_dirs)
            if path is None:
                return PlainTextResponse("no such picture", status_code=404)
            return FileResponse(path, media_type="image/svg+xml", headers={"Content-Security-Policy": PICTURE_CSP})

        async def history_page(request):
            return HTMLResponse(history_html, headers={"Content-Security-Policy": csp_for(history_html)})

        def chart_png() -> bytes | None:
            from voicecoach.store.report import write_chart
            from voicecoach.store.history import Store
            try:  # a copy, read only (this is the server's thread; the page never writes the history)
                store = Store(self.history, readonly=True)
            except Exception:  # noqa: BLE001 - an unreadable history is "nothing to chart", not a crash
                return None
            try:
                rows = store.summaries(limit=10_000)
            except Exception:  # noqa: BLE001 - nor is a damaged one
                return None
            finally:
                store.close()
            if not rows:
                return None
            with tempfile.TemporaryDirectory() as tmp:
                out = Path(tmp) / "chart.png"
                write_chart(rows, out)
                return out.read_bytes()

        async def chart(request):
            png = await asyncio.to_thread(chart_png)
            if png is None:
                return PlainTextResponse("No sessions yet: nothing to chart.", status_code=404)
            return Response(png, media_type="image/png", headers={"Cache-Control": "no-store"})

        app = Starlette(routes=[Route("/", live), Route("/events", events), Route("/state", state),
                                Route("/pictures/{name}", picture), Route("/history", history_page),
                                Route("/history.png", chart)])
        return Guard(app, self.lan)
