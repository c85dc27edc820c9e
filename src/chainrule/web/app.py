"""The Starlette application of `chainrule serve`: the page, its static files and a small JSON API.

    GET  /                      the page
    GET  /api/problem[?variant] the problem: statement, network, questions and their answer keys
    POST /api/preview           {"key", "text"[, "variant"]}: what chainrule read, or the parse error
    POST /api/check             {"answers"[, "variant"][, "keys"]}: `chainrule check --json` for them
    POST /api/export            {"answers"[, "variant"]}: the answers.toml `chainrule check` accepts
    POST /api/import            an answers.toml: {"answers": {key: text}, "unknown_keys", "variant"}

Student text is judged only in the bounded worker processes (jobs.py); the parent reads JSON and
TOML, both size-limited, and never gives a client's string to a parser of expressions or to a path.
"""

from __future__ import annotations

import contextlib
import json
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

import anyio.to_thread
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from chainrule.check.answers import MAX_ANSWERS_BYTES
from chainrule.check.gradebook import FileError
from chainrule.check.report_json import error_json
from chainrule.check.workers import Failure, Limits
from chainrule.errors import ChainruleError
from chainrule.web.answers_file import from_toml, to_toml
from chainrule.web.jobs import ANSWERS_FILE, Busy, CheckJob, PreviewJob, Workers, default_count
from chainrule.web.page import render_page
from chainrule.web.source import Problem, Source, VariantError, open_source

MAX_BODY = MAX_ANSWERS_BYTES  # a request body: the largest answers file `check` reads
MAX_ANSWER = 10_000  # characters in one box
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
                               "img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; "
                               "frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}


class BadRequest(Exception):
    def __init__(self, message: str, status: int = 400):
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class Settings:
    """The server's limits: seconds per answer, per check request and per preview; a worker's memory."""

    answer_seconds: float = 5.0
    request_seconds: float = 30.0
    preview_seconds: float = 5.0
    memory_mb: int | None = 2048
    workers: int | None = None  # None: the cores, at most 4
    show_expected: bool = False  # the page shows the expected values in its feedback


def create_app(source: str | Source, settings: Settings | None = None) -> Starlette:
    """The app for a spec or a class folder; a bad one is a ChainruleError here, before any request."""
    settings = settings or Settings()
    source = open_source(source) if isinstance(source, str) else source
    server = _Server(source, settings)

    @contextlib.asynccontextmanager
    async def lifespan(app):
        server.start()
        try:
            yield
        finally:
            server.close()

    routes = [
        Route("/", server.page),
        Route("/api/problem", server.problem),
        Route("/api/preview", server.preview, methods=["POST"]),
        Route("/api/check", server.check, methods=["POST"]),
        Route("/api/export", server.export, methods=["POST"]),
        Route("/api/import", server.import_, methods=["POST"]),
        Mount("/static", StaticFiles(directory=Path(__file__).parent / "static"), name="static"),
    ]
    app = Starlette(routes=routes, lifespan=lifespan, exception_handlers={
        BadRequest: lambda request, error: _error(str(error), error.status),
        Busy: lambda request, error: _error(str(error), 503),
        404: lambda request, error: _error("not found", 404),
        405: lambda request, error: _error("method not allowed", 405),
        Exception: lambda request, error: _error("internal error", 500),
    })
    app.add_middleware(_Headers)
    app.state.server = server
    return app


class _Headers:
    """Every response says: only this server's own scripts, styles and connections."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)

        async def sending(message):
            if message["type"] == "http.response.start":
                headers = [(k, v) for k, v in message.get("headers", [])
                           if k.decode("latin-1").lower() not in {h.lower() for h in SECURITY_HEADERS}]
                headers += [(k.lower().encode(), v.encode()) for k, v in SECURITY_HEADERS.items()]
                message = {**message, "headers": headers}
            await send(message)
        await self.app(scope, receive, sending)


def _error(message: str, status: int) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


class _Server:
    def __init__(self, source: Source, settings: Settings):
        self.source, self.settings = source, settings
        self.workers: Workers | None = None
        self._problems: OrderedDict = OrderedDict()  # variant -> Problem
        self._json: OrderedDict = OrderedDict()  # variant -> /api/problem

    def start(self) -> None:
        """Start the workers (idempotent: `chainrule serve` starts them before it listens)."""
        if self.workers is not None:
            return
        limits = Limits(seconds=self.settings.request_seconds, memory_mb=self.settings.memory_mb)
        workers = Workers(self.settings.workers or default_count(), limits)
        try:  # fork the workers now, from a process that does nothing else yet, with a key computed
            workers.warm(self._any_problem().path)
        except BaseException:
            workers.close()
            raise
        self.workers = workers

    def close(self) -> None:
        if self.workers is not None:
            self.workers.close()
            self.workers = None

    # ------------------------------------------------------------ requests

    async def page(self, request: Request) -> Response:
        title = self.source.single.spec.title if self.source.single else "chainrule"
        return HTMLResponse(render_page(title, self.source.is_class, self.settings.show_expected))

    async def problem(self, request: Request) -> Response:
        problem = await self._problem(request.query_params.get("variant"))
        key = problem.variant
        if key not in self._json:
            from chainrule.web.problem import problem_json

            self._json[key] = await anyio.to_thread.run_sync(problem_json, problem)
            while len(self._json) > 64:
                self._json.popitem(last=False)
        return JSONResponse(self._json[key])

    async def preview(self, request: Request) -> Response:
        body = await _json_body(request)
        problem = await self._problem(body.get("variant"))
        key, text = body.get("key"), body.get("text")
        if not isinstance(key, str) or key not in self.source.key_names(problem):
            raise BadRequest(f"key: expected one of the answers file's keys, got {_short(key)}")
        if not isinstance(text, str) or len(text) > MAX_ANSWER:
            raise BadRequest(f"text: expected a string of at most {MAX_ANSWER} characters")
        value = await self._run(PreviewJob(problem.path, key.startswith("proofs."), text),
                                self.settings.preview_seconds, job_name=None)  # one box, not a file
        if isinstance(value, Failure):
            return JSONResponse({"ok": False, "error": f"could not read it: {value.reason}", "position": None,
                                 "suggestion": None})
        return JSONResponse(value)

    async def check(self, request: Request) -> Response:
        body = await _json_body(request)
        problem = await self._problem(body.get("variant"))
        keys = self.source.key_names(problem)
        answers = _answers(body.get("answers"), keys)
        only = body.get("keys")
        if only is not None:
            if not isinstance(only, list) or not all(isinstance(k, str) and k in keys for k in only):
                raise BadRequest("keys: expected a list of the answers file's keys")
            only = tuple(only)
        text = to_toml(problem, keys, answers, self.source.given if self.source.is_class else None)
        job = CheckJob(text, problem.path, problem.shown, problem.variant, self.settings.answer_seconds, only)
        value = await self._run(job, self.settings.request_seconds)
        if isinstance(value, Failure):
            value = error_json(FileError(ANSWERS_FILE, value.reason))
        return JSONResponse(value)

    async def export(self, request: Request) -> Response:
        body = await _json_body(request)
        problem = await self._problem(body.get("variant"))
        keys = self.source.key_names(problem)
        text = to_toml(problem, keys, _answers(body.get("answers"), keys),
                       self.source.given if self.source.is_class else None)
        return Response(text, media_type="application/toml; charset=utf-8",
                        headers={"Content-Disposition": 'attachment; filename="answers.toml"'})

    async def import_(self, request: Request) -> Response:
        raw = await _body(request)
        variant = request.query_params.get("variant")
        problem = await self._problem(variant) if self.source.is_class and variant else None
        keys = self.source.key_names(problem or self._any_problem())
        try:
            answers, unknown, number = await anyio.to_thread.run_sync(from_toml, raw, keys)
        except ChainruleError as error:
            raise BadRequest(str(error)) from None
        return JSONResponse({"answers": answers, "unknown_keys": unknown, "variant": number})

    # ------------------------------------------------------------ helpers

    def _any_problem(self) -> Problem:
        if self.source.single is not None:
            return self.source.single
        return self.source.problem(min(self.source.batch.specs))  # every variant has the same keys

    async def _problem(self, variant) -> Problem:
        if self.source.single is not None:
            return self.source.single
        if variant is not None and not isinstance(variant, (str, int)) or isinstance(variant, bool):
            raise BadRequest("variant: expected a variant number or a student id")
        try:
            number = self.source.variant_number(str(variant)) if variant not in (None, "") else None
            if number is None:
                self.source.problem(None)  # raises: a class needs a variant
            if number not in self._problems:
                self._problems[number] = await anyio.to_thread.run_sync(self.source.problem, number)
                while len(self._problems) > 256:
                    self._problems.popitem(last=False)
            return self._problems[number]
        except VariantError as error:
            raise BadRequest(str(error)) from None
        except ChainruleError as error:  # the variant's spec file is broken: the instructor's problem
            raise BadRequest(f"variant {_short(variant)}: {error}", 500) from None

    async def _run(self, job, seconds: float, job_name: str | None = "the file"):
        return await self.workers.run(job, seconds, job_name)


def _short(value) -> str:
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= 60 else text[:57] + "…"


async def _body(request: Request) -> bytes:
    """The request body, refused (413) past MAX_BODY without reading the rest."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > MAX_BODY:
        raise BadRequest(f"request body over {MAX_BODY} bytes", 413)
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY:
            raise BadRequest(f"request body over {MAX_BODY} bytes", 413)
        chunks.append(chunk)
    return b"".join(chunks)


async def _json_body(request: Request) -> dict:
    raw = await _body(request)
    try:
        data = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError):
        raise BadRequest("expected a JSON object") from None
    if not isinstance(data, dict):
        raise BadRequest("expected a JSON object")
    return data


def _answers(given, keys: list[str]) -> dict[str, str]:
    if given is None:
        return {}
    if not isinstance(given, dict):
        raise BadRequest("answers: expected an object of the answers file's keys")
    known = set(keys)
    for key, text in given.items():
        if key not in known:
            raise BadRequest(f"answers: unknown key {_short(key)}")
        if not isinstance(text, str) or len(text) > MAX_ANSWER:
            raise BadRequest(f"answers.{key}: expected a string of at most {MAX_ANSWER} characters")
    return dict(given)
