"""``ember playground`` / ``python -m ember.playground``: start the server, print its URL,
open a browser on it, and serve until Ctrl-C."""
from __future__ import annotations

import argparse
import webbrowser

from .server import PlaygroundServer


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--port", type=int, default=8000, help="port to listen on (0: any free port)")
    parser.add_argument("--host", default="127.0.0.1",
                        help="address to listen on (0.0.0.0 makes the page reachable from other machines)")
    parser.add_argument("--no-browser", action="store_true", help="print the URL without opening a browser")


def run(args: argparse.Namespace, parser: argparse.ArgumentParser) -> None:
    if not 0 <= args.port <= 65535:
        parser.exit(2, f"{parser.prog}: error: --port {args.port}: expected 0 to 65535 (0 picks a free one)\n")
    try:
        server = PlaygroundServer(args.host, args.port)
    except OSError as error:  # the port is taken, or the address is not this machine's
        parser.exit(2, f"{parser.prog}: error: cannot listen on {args.host}:{args.port} ({error.strerror or error}); "
                       f"choose another --port (0 picks a free one)\n")
    print(f"ember playground: {server.url}  (Ctrl-C stops it)", flush=True)
    if not args.no_browser:
        webbrowser.open(server.url)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ember.playground",
                                     description="A TensorFlow-Playground-style page training ember networks on 2-D data.")
    add_arguments(parser)
    run(parser.parse_args(argv), parser)
    return 0
