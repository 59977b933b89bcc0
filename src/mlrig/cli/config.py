"""``mlrig config show``: each effective setting and the file it came from."""

from __future__ import annotations

from pathlib import Path

import click

from mlrig.cli._common import echo_json, json_option


@click.group("config", short_help="Organisation defaults: template, preset answers, trust.")
def config_group() -> None:
    """Organisation defaults: the template, preset answers and trusted templates.

    \b
    Files, the later winning key by key:
      1. $XDG_CONFIG_HOME/mlrig/config.yml (~/.config/mlrig/config.yml),
         or instead the file named by $MLRIG_CONFIG (which must exist);
      2. .mlrig.yml at the root of the current git repository.
    \b
    Keys, all optional:
      template: gh:acme/ml-template@v2.0.0   # the default for mlrig new
      answers: {ci_provider: gitlab}         # presets; -d and --answers-file win
      trusted_prefixes: [https://github.com/acme/]   # user file only
    """


@config_group.command("show", short_help="Print each effective setting and where it came from.")
@click.argument("directory", type=click.Path(path_type=Path), default=".")
@json_option
def config_show(directory: Path, as_json: bool) -> int:
    """Print each effective setting for DIRECTORY (default: here) and where it came from.

    Exit codes: 0 shown; 2 a config file is invalid; 130 interrupted.
    """
    import json

    from mlrig.commands.config import show_config

    result = show_config(directory)
    if as_json:
        echo_json(result.as_dict())
        return 0
    width = max(len(entry.key) for entry in result.entries)
    for entry in result.entries:
        if entry.key == "template" and entry.value is None:
            shown = "(built-in)"
        elif entry.value == []:
            shown = "(none)"
        else:
            shown = entry.value if isinstance(entry.value, str) else json.dumps(entry.value)
        click.echo(f"{entry.key:<{width}}  {shown}  [{entry.origin}]")
    for path in result.searched:
        state = "read" if path in result.read else "not found"
        click.echo(f"config file {path}: {state}", err=True)
    return 0
