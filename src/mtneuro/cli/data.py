"""``mtneuro data``: inspect, preview, cache, verify and download data."""

from __future__ import annotations

import click

from mtneuro.cli.lazy import LazyGroup

DATA_COMMANDS = {
    "info": "mtneuro.cli.data_info:info",
    "preview": "mtneuro.cli.data_preview:preview",
    "fetch": "mtneuro.cli.data_cache:fetch",
    "verify": "mtneuro.cli.data_cache:verify",
    "list": "mtneuro.cli.data_catalog:list_datasets",
    "download": "mtneuro.cli.data_catalog:download",
}


@click.group(cls=LazyGroup, lazy_commands=DATA_COMMANDS)
def data() -> None:
    """Volume sources, real shared datasets and the local cache."""
