"""`serve`: the web console (`gateway.web`), served by uvicorn until SIGINT or SIGTERM."""

from __future__ import annotations

import click

from gateway.cli.shared import LOG_FORMAT_OPTION, LOG_LEVEL_OPTION, Settings, emit, json_option


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
@json_option("Say where the console listens as one JSON object before serving.")
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
    if as_json:
        emit({"url": url, "host": host, "port": port})
    logs.emitter("gateway.web")("serving", url=url)
    uvicorn.run(
        create_app(gateway),
        host=host,
        port=port,
        log_config=None,  # uvicorn's loggers go through the gateway's handler (gateway.logs)
        access_log=False,
        server_header=False,
        proxy_headers=True,
        forwarded_allow_ips="127.0.0.1",
    )
