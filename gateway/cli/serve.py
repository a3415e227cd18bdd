"""`serve`: the web console (`gateway.web`), served by uvicorn until SIGINT or SIGTERM."""

from __future__ import annotations

import json

import click

from gateway.cli.shared import LOG_FORMAT_OPTION, LOG_LEVEL_OPTION, Settings, json_option


@click.command("serve")
@click.option(
    "--host",
    metavar="ADDRESS",
    help="The address to listen on (default: [web] host, 127.0.0.1). Put the console behind a "
    "TLS proxy before you open it to other machines.",
)
@click.option(
    "--port",
    metavar="N",
    type=click.IntRange(1, 65535),
    help="The port to listen on (default: [web] port, 8080).",
)
@LOG_FORMAT_OPTION
@LOG_LEVEL_OPTION
@json_option("Say where the console listens as one line of JSON before serving.")
@click.pass_obj
def serve(
    settings: Settings,
    host: str | None,
    port: int | None,
    log_format: str,
    log_level: str,
    as_json: bool,
) -> None:
    """Serve the web console: orders, documents, quarantine, partners and mail, for the users
    added with `gateway users add` (sign-in required on every page)."""
    import uvicorn

    from gateway import logs
    from gateway.web.app import create_app

    gateway = settings.gateway()
    logs.configure(log_format, log_level)
    web = gateway.config.web
    host = host or web.host
    port = port or web.port
    url = f"http://{host if ':' not in host else f'[{host}]'}:{port}/"
    if as_json:  # one line, read by whatever started the console before it serves
        click.echo(json.dumps({"url": url, "host": host, "port": port}))
    logs.emitter("gateway.web")("serving", url=url)
    config = uvicorn.Config(
        create_app(gateway),
        host=host,
        port=port,
        log_config=None,  # uvicorn's loggers go through the gateway's handler (gateway.logs)
        access_log=False,
        server_header=False,
        proxy_headers=True,
        forwarded_allow_ips="127.0.0.1",
    )
    _server_class()(config).run()
    logs.emitter("gateway.web")("stopped", url=url)


def _server_class() -> type:
    import contextlib
    from collections.abc import Iterator

    import uvicorn

    class ConsoleServer(uvicorn.Server):
        """uvicorn's server, stopping on SIGINT or SIGTERM as `gateway run` does: the requests
        in hand finished, then exit 0 (uvicorn itself raises the signal again once stopped, so
        that the process would end killed by it)."""

        @contextlib.contextmanager
        def capture_signals(self) -> Iterator[None]:
            with super().capture_signals():
                try:
                    yield
                finally:
                    captured = getattr(self, "_captured_signals", None)
                    if isinstance(captured, list):
                        captured.clear()

    return ConsoleServer
