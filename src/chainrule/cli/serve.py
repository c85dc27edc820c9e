"""`chainrule serve`: start the local web page for one spec or a class folder, until Ctrl-C."""

from __future__ import annotations

import socket
import sys

from chainrule.cli.codes import EXIT_OK
from chainrule.errors import ChainruleError


def serve(args) -> int:
    import uvicorn

    from chainrule.web.app import Settings, create_app

    app = create_app(args.source, Settings(answer_seconds=args.time_limit, memory_mb=args.memory_limit or None,
                                           workers=args.jobs or None, show_expected=args.show_expected))
    sock = _listen(args.host, args.port)
    try:
        app.state.server.start()  # workers up, or one line and exit 2, before the address is printed
    except BaseException:
        sock.close()
        raise
    host, port = sock.getsockname()[:2]
    shown = f"[{host}]" if ":" in host else host

    class Server(uvicorn.Server):
        async def startup(self, sockets=None):
            await super().startup(sockets=sockets)
            if not self.should_exit:
                print(f"chainrule serve: http://{shown}:{port}/", flush=True)
                print("Press Ctrl-C to stop.", file=sys.stderr, flush=True)

        def handle_exit(self, sig, frame):
            # stop, and do not re-raise the signal afterwards (uvicorn's default): Ctrl-C is a clean exit
            if self.should_exit and sig == 2:
                self.force_exit = True
            self.should_exit = True

    config = uvicorn.Config(app, log_level="warning", lifespan="on", access_log=False,
                            timeout_graceful_shutdown=5)
    server = Server(config)
    try:
        server.run(sockets=[sock])
    except KeyboardInterrupt:
        pass
    finally:
        sock.close()
        app.state.server.close()
    if not server.started and not server.should_exit:
        raise ChainruleError(f"http://{shown}:{port}/: the server could not start")
    return EXIT_OK


def _listen(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
        sock.listen(128)
    except (OSError, OverflowError) as error:
        sock.close()
        why = getattr(error, "strerror", None) or str(error)
        raise ChainruleError(f"--host {host} --port {port}: cannot listen there ({why})") from None
    sock.set_inheritable(True)
    return sock
