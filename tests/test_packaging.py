"""What ships and how it is deployed: package data, the Makefile stamps, deploy/ files.

The wheel itself is built, installed in a fresh venv and run from outside the checkout by
``.ci/run`` (it needs the package index for the build backend); these checks are the
offline part, each guarding a way the installed product silently lost its defaults.
"""

from __future__ import annotations

import fnmatch
import json
import re
import shlex
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "monitor" / "data"
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))


def test_every_packaged_data_file_is_declared_as_package_data() -> None:
    """A file added under monitor/data/ that no glob covers would be missing from the wheel."""
    package_data: dict[str, list[str]] = PYPROJECT["tool"]["setuptools"]["package-data"]
    files = [p for p in DATA.rglob("*") if p.is_file() and "__pycache__" not in p.parts]
    assert len(files) >= 14
    for path in files:
        package = ".".join(path.parent.relative_to(ROOT).parts)
        patterns = package_data.get(package, [])
        assert any(fnmatch.fnmatch(path.name, pat) for pat in patterns), (
            f"{path.relative_to(ROOT)} is not package data: add it under "
            f'[tool.setuptools.package-data] "{package}"'
        )


def test_the_old_top_level_data_folders_are_gone() -> None:
    """One copy of the defaults: the packaged one (seeds/ keeps only the generator and article)."""
    assert not (ROOT / "templates").exists() and not (ROOT / "rules").exists()
    assert sorted(p.name for p in (ROOT / "seeds").iterdir() if p.name != "__pycache__") == [
        "make_seed_feeds.py",
        "seed-article.txt",
    ]


def test_console_script_is_monitor() -> None:
    assert PYPROJECT["project"]["scripts"] == {"monitor": "monitor.cli:main"}


# Makefile: `make run` installs only what running needs


def make_rules() -> dict[str, tuple[list[str], list[str]]]:
    """target -> (prerequisites, recipe lines), for the simple rules of the Makefile."""
    rules: dict[str, tuple[list[str], list[str]]] = {}
    current: str | None = None
    for line in (ROOT / "Makefile").read_text(encoding="utf-8").splitlines():
        if line.startswith("\t") and current:
            rules[current][1].append(line.strip())
        elif re.match(r"^[^\s#=:]+:(?!=)", line):
            target, _, rest = line.partition(":")
            prereqs = rest.split("##")[0].replace("|", " ").split()
            current = target.strip()
            rules[current] = (prereqs, [])
        elif not line.strip() or not line.startswith("\t"):
            current = None if not line.startswith("\t") else current
    return rules


def test_make_run_installs_without_the_dev_tools() -> None:
    rules = make_rules()
    run_prereqs, _ = rules["run"]
    assert run_prereqs == ["$(RUN_STAMP)"]
    run_stamp = rules["$(RUN_STAMP)"]
    installs = [line for line in run_stamp[1] if "pip install" in line]
    assert installs and all("[dev]" not in i and "[test]" not in i for i in installs)
    assert "$(DEV_STAMP)" in rules["test"][0]
    dev_installs = [line for line in rules["$(DEV_STAMP)"][1] if "pip install" in line]
    assert any("[dev]" in line for line in dev_installs)


# deploy/: the systemd unit


def unit() -> dict[str, list[tuple[str, str]]]:
    """section -> (key, value) in order; systemd keys repeat (Environment=), so not a dict."""
    sections: dict[str, list[tuple[str, str]]] = {}
    current: list[tuple[str, str]] | None = None
    for raw in (ROOT / "deploy" / "news-monitor.service").read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("[") and line.endswith("]"):
            current = sections.setdefault(line[1:-1], [])
            continue
        assert current is not None and "=" in line, f"not a unit file line: {raw!r}"
        key, _, value = line.partition("=")
        current.append((key.strip(), value.strip()))
    return sections


def test_systemd_unit_runs_the_console_script() -> None:
    service = unit()["Service"]
    one = dict(service)
    argv = shlex.split(one["ExecStart"])
    assert Path(argv[0]).name == "monitor" and Path(argv[0]).is_absolute()
    assert argv[1] == "run"
    assert one["KillSignal"] == "SIGTERM" and one["Restart"] == "on-failure"
    assert one["User"] not in ("root", "0")
    env = dict(v.split("=", 1) for k, v in service if k == "Environment")
    assert env.get("MONITOR_DATA_DIR") == "/var/lib/" + one["StateDirectory"]
    assert "MONITOR_CONFIG" in env
    assert dict(unit()["Install"])["WantedBy"] == "multi-user.target"


# deploy/: the Dockerfile


def dockerfile() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments), continuation lines joined, comments dropped."""
    text = (ROOT / "deploy" / "Dockerfile").read_text(encoding="utf-8")
    text = re.sub(r"\\\n", " ", text)
    out = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            word, _, rest = line.partition(" ")
            out.append((word.upper(), rest.strip()))
    return out


def instructions(name: str) -> list[str]:
    return [args for word, args in dockerfile() if word == name]


def test_dockerfile_is_multi_stage_on_slim_python() -> None:
    froms = instructions("FROM")
    assert len(froms) >= 2
    assert all(re.match(r"python:\$\{PYTHON_VERSION\}-slim|python:3\.\d+-slim", f) for f in froms)
    assert any("from=build" in args for args in instructions("RUN") + instructions("COPY"))


def test_dockerfile_runs_as_a_non_root_user_with_the_data_volume() -> None:
    [user] = instructions("USER")
    assert user.split(":")[0] not in ("root", "0")
    [volume] = instructions("VOLUME")
    env = " ".join(instructions("ENV"))
    data_dir = re.search(r"MONITOR_DATA_DIR=(\S+)", env)
    assert data_dir and json.loads(volume) == [data_dir.group(1)]
    assert json.loads(instructions("ENTRYPOINT")[0]) == ["monitor"]
    assert json.loads(instructions("CMD")[-1])[0] == "run"


def test_dockerfile_healthcheck_calls_healthz_with_python_not_curl() -> None:
    [healthcheck] = instructions("HEALTHCHECK")
    assert "curl" not in healthcheck and "wget" not in healthcheck
    command = json.loads(healthcheck[healthcheck.index("CMD") + 3 :].strip())
    assert command[:2] == ["python", "-c"]
    compile(command[2], "<healthcheck>", "exec")  # valid Python
    assert "urllib.request" in command[2] and "127.0.0.1:8787/healthz" in command[2]
    assert instructions("EXPOSE") == ["8787"]


def test_dockerignore_keeps_the_context_small_but_buildable() -> None:
    lines = (ROOT / ".dockerignore").read_text(encoding="utf-8").splitlines()
    ignored = [line.strip() for line in lines if line.strip() and not line.startswith("#")]
    for name in (".git", ".venv", "data", "tests"):
        assert name in ignored
    copied = [args.split()[:-1] for args in instructions("COPY")]
    for sources in copied:
        for source in sources:
            assert source not in ignored and (ROOT / source).exists(), source


@pytest.mark.parametrize("path", ["deploy/news-monitor.service", "deploy/Dockerfile"])
def test_readme_deploy_section_points_at_the_deploy_files(path: str) -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    deploy = readme[readme.index("## Deploy") :].split("\n## ")[0]
    assert f"]({path})" in deploy
