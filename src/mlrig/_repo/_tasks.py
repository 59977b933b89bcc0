"""The tasks of the repository's task runners: make, just, poe, pdm, pixi, hatch, mise,
tox, nox, invoke, and DVC stages."""

from __future__ import annotations

import re
from typing import Any

from mlrig._repo._listing import _as_list, _line_of, _load_yaml, _mapping, _Reader, _where, get_path
from mlrig._repo._records import Task

# A rule line: targets, prerequisites, then an inline recipe or a comment (`test: ## help`).
_MAKE_RULE = re.compile(r"^([^\s:=#][^:=#]*?)\s*::?(?![=])\s*([^=;#]*)(?:;(.*)|#.*)?$")


def _make_tasks(reader: _Reader) -> list[Task]:
    path = reader.first("Makefile", "makefile", "GNUmakefile")
    text = reader.text(path) if path else None
    if not text or path is None:
        return []
    tasks: dict[str, Task] = {}
    lines = text.split("\n")
    number = 0
    while number < len(lines):
        line = lines[number]
        match = _MAKE_RULE.match(line) if not line.startswith("\t") else None
        number += 1
        rule_line = number
        if (
            not match
            or match.group(1).startswith(".")
            or "$" in match.group(1)
            or "%" in match.group(1)
        ):
            continue
        recipe: list[str] = [match.group(3).strip()] if match.group(3) else []
        while number < len(lines) and (
            lines[number].startswith("\t") or (recipe and recipe[-1].endswith("\\"))
        ):
            if lines[number].startswith("\t#"):
                number += 1
                continue
            text_line = lines[number].strip()
            if recipe and recipe[-1].endswith("\\"):
                recipe[-1] = recipe[-1] + "\n" + text_line
            else:
                recipe.append(text_line.lstrip("@-+").strip())
            number += 1
        depends = tuple(d for d in match.group(2).split() if not d.startswith(("$", ".")))
        for name in match.group(1).split():
            if name not in tasks:
                tasks[name] = Task(
                    "make",
                    name,
                    tuple(r for r in recipe if r),
                    f"{path}:{rule_line}",
                    f"make {name}",
                    depends,
                )
    return list(tasks.values())


_JUST_RECIPE = re.compile(r"^@?([A-Za-z_][\w-]*)((?:\s+[^:=]+)?)\s*:(?!=)\s*([^#]*)")


def _just_tasks(reader: _Reader) -> list[Task]:
    path = reader.first("justfile", "Justfile", ".justfile")
    text = reader.text(path) if path else None
    if not text or path is None:
        return []
    tasks: list[Task] = []
    lines = text.split("\n")
    for number, line in enumerate(lines):
        if line[:1] in (" ", "\t", "#", "[") or line.startswith(
            ("set ", "alias ", "export ", "import ", "mod ")
        ):
            continue
        match = _JUST_RECIPE.match(line)
        if not match:
            continue
        body: list[str] = []
        for follow in lines[number + 1 :]:
            if follow and not follow[0].isspace():
                break
            stripped = follow.strip()
            if stripped and not stripped.startswith("#"):
                body.append(stripped.lstrip("@-").strip())
        depends = tuple(d for d in match.group(3).split() if re.fullmatch(r"[\w-]+", d))
        name = match.group(1)
        tasks.append(
            Task("just", name, tuple(body), f"{path}:{number + 1}", f"just {name}", depends)
        )
    return tasks


def _toml_tasks(
    runner: str, path: str, table: Any, text: str, call: str, header: str
) -> list[Task]:
    """Tasks of a TOML table whose values are a command, a list, or a table of one."""
    tasks: list[Task] = []
    for name, value in _mapping(table).items():
        lines: list[str] = []
        depends: list[str] = []
        if isinstance(value, str):
            lines = [value]
        elif isinstance(value, list):
            lines = [v for v in value if isinstance(v, str)]
            if runner == "poe":
                depends = [v for v in lines if re.fullmatch(r"[\w-]+", v)]
                lines = [] if depends else lines
        elif isinstance(value, dict):
            for key in ("cmd", "shell", "run", "script", "call"):
                item = value.get(key)
                if isinstance(item, str):
                    lines = [
                        item if key != "script" else f"python -c 'import {item.split(':')[0]}'"
                    ]
                    break
                if isinstance(item, list):
                    lines = (
                        [" ".join(map(str, item))]
                        if key == "cmd" and runner == "pixi"
                        else [str(i) for i in item]
                    )
                    break
            for key in ("depends", "depends-on", "depends_on", "sequence", "deps"):
                items = value.get(key)
                for item in _as_list(items):
                    if isinstance(item, str):
                        depends.append(item)
                    elif isinstance(item, dict) and isinstance(item.get("task"), str):
                        depends.append(item["task"])
        escaped = re.escape(str(name))
        # [ \t]*, not \s*: the match must not begin on a blank line before the header.
        line = _line_of(text, rf"^[ \t]*(?:\[{header}\.\"?{escaped}\"?\]|\"?{escaped}\"?\s*=)")
        tasks.append(
            Task(
                runner,
                str(name),
                tuple(lines),
                f"{path}:{line}",
                call.format(name=name),
                tuple(depends),
            )
        )
    return tasks


def _pyproject_tasks(reader: _Reader, pyproject: dict[str, Any]) -> list[Task]:
    text = reader.text("pyproject.toml") or ""
    tasks = _toml_tasks(
        "poe",
        "pyproject.toml",
        get_path(pyproject, "tool", "poe", "tasks"),
        text,
        "poe {name}",
        r"tool\.poe\.tasks",
    )
    tasks += _toml_tasks(
        "pdm",
        "pyproject.toml",
        {
            k: v
            for k, v in _mapping(get_path(pyproject, "tool", "pdm", "scripts")).items()
            if k != "_"
        },
        text,
        "pdm run {name}",
        r"tool\.pdm\.scripts",
    )
    tasks += _toml_tasks(
        "pixi",
        "pyproject.toml",
        get_path(pyproject, "tool", "pixi", "tasks"),
        text,
        "pixi run {name}",
        r"tool\.pixi\.tasks",
    )
    envs = dict(_mapping(get_path(pyproject, "tool", "hatch", "envs")))
    hatch_path = "pyproject.toml"
    if "hatch.toml" in reader.files:
        envs.update(_mapping(reader.toml("hatch.toml").get("envs")))
        hatch_path = "hatch.toml"
    hatch_text = reader.text(hatch_path) or ""
    for env, config in envs.items():
        prefix = "" if env == "default" else f"{env}:"
        for task in _toml_tasks(
            "hatch",
            hatch_path,
            _mapping(config).get("scripts"),
            hatch_text,
            f"hatch run {prefix}{{name}}",
            rf"(?:tool\.hatch\.)?envs\.{re.escape(str(env))}\.scripts",
        ):
            tasks.append(
                Task(
                    "hatch",
                    f"{prefix}{task.name}",
                    task.lines,
                    task.source,
                    task.call,
                    task.depends,
                )
            )
    pixi = reader.first("pixi.toml")
    if pixi:
        tasks += _toml_tasks(
            "pixi",
            pixi,
            reader.toml(pixi).get("tasks"),
            reader.text(pixi) or "",
            "pixi run {name}",
            "tasks",
        )
    mise = reader.first(
        "mise.toml", ".mise.toml", "mise/config.toml", ".config/mise.toml", ".mise/config.toml"
    )
    if mise:
        tasks += _toml_tasks(
            "mise",
            mise,
            reader.toml(mise).get("tasks"),
            reader.text(mise) or "",
            "mise run {name}",
            "tasks",
        )
    return tasks


def _tox_tasks(reader: _Reader, pyproject: dict[str, Any]) -> list[Task]:
    path = "tox.ini"
    text = reader.text(path)
    legacy = get_path(pyproject, "tool", "tox", "legacy_tox_ini")
    if text is None and isinstance(legacy, str):
        path, text = "pyproject.toml", legacy
    tasks: list[Task] = []
    if text is not None:
        section = ""
        start = 0
        commands: dict[str, list[str]] = {}
        where: dict[str, int] = {}
        in_commands = False
        for number, line in enumerate(text.split("\n"), start=1):
            header = re.match(r"\s*\[([^\]]+)\]", line)
            if header:
                section, start, in_commands = header.group(1).strip(), number, False
                if section == "testenv" or section.startswith("testenv:"):
                    commands.setdefault(section, [])
                    where[section] = start
                continue
            if section not in commands:
                continue
            key = re.match(r"(\w[\w-]*)\s*=\s*(.*)", line)
            if key and not line[:1].isspace():
                in_commands = key.group(1) == "commands"
                if in_commands and key.group(2).strip():
                    commands[section].append(key.group(2).strip())
            elif in_commands and line[:1].isspace() and line.strip():
                commands[section].append(line.strip())
        for section, lines in commands.items():
            name = section.partition(":")[2] or "py"
            # `-e py` is the default environment with the interpreter tox runs on: a bare
            # `tox` would run every envlist Python, which a CI job does not have.
            call = "tox -e py" if section == "testenv" else f"tox -e {name}"
            tasks.append(Task("tox", name, tuple(lines), f"{path}:{where[section]}", call))
        return tasks
    table = get_path(pyproject, "tool", "tox")
    toml_path, toml = (
        ("pyproject.toml", table)
        if isinstance(table, dict)
        else ("tox.toml", reader.toml("tox.toml"))
    )
    if toml:
        source_text = reader.text(toml_path) or ""
        for name, env in _mapping(toml.get("env")).items():
            lines = [
                " ".join(map(str, c))
                for c in _as_list(_mapping(env).get("commands"))
                if isinstance(c, list)
            ]
            at = _line_of(source_text, rf"^\[(?:tool\.tox\.)?env\.{re.escape(str(name))}\]")
            tasks.append(
                Task("tox", str(name), tuple(lines), f"{toml_path}:{at}", f"tox -e {name}")
            )
    return tasks


def _python_tasks(reader: _Reader, runner: str, path: str) -> list[Task]:
    """nox sessions (``session.run``) or invoke tasks (``c.run``) of a Python file."""
    text = reader.text(path)
    if not text:
        return []
    decorator = r"@nox\.session" if runner == "nox" else r"@(?:invoke\.)?task"
    pattern = re.compile(rf"^{decorator}\b[^\n]*\n(?:@[^\n]*\n)*def\s+(\w+)", re.MULTILINE)
    matches = list(pattern.finditer(text))
    tasks: list[Task] = []
    for index, match in enumerate(matches):
        end = matches[index + 1].start() if index + 1 < len(matches) else len(text)
        body = text[match.end() : end]
        if runner == "nox":
            lines = [
                " ".join(re.findall(r"[\"']([^\"']*)[\"']", call))
                for call in re.findall(r"session\.run\(([^)]*)\)", body)
            ]
        else:
            lines = re.findall(r"\.run\(\s*f?[\"']([^\"']+)[\"']", body)
        name = match.group(1)
        shown = name.replace("_", "-") if runner == "invoke" else name
        call = f"nox -s {name}" if runner == "nox" else f"invoke {shown}"
        line = text.count("\n", 0, match.start(1)) + 1
        tasks.append(Task(runner, shown, tuple(lines), f"{path}:{line}", call))
    return tasks


def _dvc_stages(reader: _Reader) -> tuple[list[Task], list[str], list[str]]:
    """DVC stages as tasks, the paths their stages write, and the metrics files."""
    if "dvc.yaml" not in reader.files:
        return [], [], []
    try:
        data = _load_yaml(reader, "dvc.yaml")
    except ValueError:
        return [], [], []
    tasks: list[Task] = []
    outs: list[str] = []
    metrics: list[str] = []
    for name, stage in _mapping(_mapping(data).get("stages")).items():
        stage = _mapping(stage)
        commands = [str(c) for c in _as_list(stage.get("cmd"))]
        for key in ("outs", "metrics", "plots"):
            for item in _as_list(stage.get(key)):
                path = item if isinstance(item, str) else next(iter(_mapping(item)), None)
                if isinstance(path, str):
                    outs.append(path)
                    if key == "metrics" and path.endswith(".json"):
                        metrics.append(path)
        deps = tuple(str(d) for d in _as_list(stage.get("deps")) if isinstance(d, str))
        source = _where(name, "dvc.yaml")
        tasks.append(Task("dvc", str(name), tuple(commands), source, f"dvc repro {name}", deps))
    return tasks, outs, metrics
