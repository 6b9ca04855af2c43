"""Settings: TOML file, MONITOR_* overrides, fail-fast messages, secrets, path resolution."""

from __future__ import annotations

from pathlib import Path

import pytest

from monitor import resources
from monitor.config import ConfigError, default_data_dir, load_settings


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    for key in list(os.environ):
        if key.startswith("MONITOR_"):
            monkeypatch.delenv(key)


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "monitor.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_embedded_defaults_use_the_packaged_seed_feeds_rules_and_local_channels(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    settings = load_settings()
    assert [f.name for f in settings.feeds] == ["seed-rss", "seed-atom"]
    assert all(Path(f.url).is_file() for f in settings.feeds)
    assert all(Path(f.url).parent == resources.seeds_dir() for f in settings.feeds)
    assert settings.rules.paths == [resources.rules_dir()]
    assert set(settings.channels) == {"console", "mail-folder"}
    data = tmp_path / "xdg" / "news-monitor"  # the user's data directory, not the cwd
    assert settings.data_dir == data
    assert settings.store.url == f"sqlite:///{data / 'monitor.db'}"
    assert settings.channels["mail-folder"].path == data / "mail"  # type: ignore[union-attr]


def test_packaged_files_live_inside_the_package() -> None:
    package = Path(resources.__file__).parent
    assert resources.templates_dir() == package / "data" / "templates"
    assert (resources.templates_dir() / "alert.txt.j2").is_file()
    assert sorted(p.name for p in resources.rules_dir().glob("*.yaml"))
    assert resources.seed_feed("rss").is_file() and resources.seed_feed("atom").is_file()
    with pytest.raises(ValueError, match="no seed feed of kind 'json'"):
        resources.seed_feed("json")


def test_data_dir_from_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MONITOR_DATA_DIR", str(tmp_path / "state"))
    settings = load_settings()
    assert settings.store.url == f"sqlite:///{tmp_path / 'state' / 'monitor.db'}"


def test_default_data_dir_follows_xdg(tmp_path: Path) -> None:
    assert default_data_dir({"XDG_DATA_HOME": str(tmp_path)}) == tmp_path / "news-monitor"
    home_default = Path.home() / ".local" / "share" / "news-monitor"
    assert default_data_dir({}) == home_default
    assert default_data_dir({"XDG_DATA_HOME": "relative"}) == home_default  # XDG: ignore it


def test_file_values_and_relative_paths_resolve_against_the_file(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
data_dir = "state"
[store]
retention_days = 30
[[feeds]]
name = "local"
url = "feeds/local.xml"
interval = 600
tags = ["test"]
[[feeds]]
name = "remote"
url = "https://example.org/feed.xml"
[rules]
paths = ["my-rules"]
""",
    )
    settings = load_settings(path)
    assert settings.store.retention_days == 30
    assert settings.store.url == f"sqlite:///{tmp_path / 'state' / 'monitor.db'}"
    assert settings.feeds[0].url == str(tmp_path / "feeds" / "local.xml")
    assert settings.feeds[0].interval == 600
    assert settings.feeds[1].url == "https://example.org/feed.xml"
    assert settings.rules.paths == [tmp_path / "my-rules"]


def test_environment_overrides_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write(tmp_path, "[store]\nretention_days = 30\n[fetch]\ntimeout = 5\n")
    monkeypatch.setenv("MONITOR_STORE__RETENTION_DAYS", "7")
    monkeypatch.setenv("MONITOR_FETCH__MAX_BYTES", "1000")
    settings = load_settings(path)
    assert settings.store.retention_days == 7
    assert settings.fetch.max_bytes == 1000
    assert settings.fetch.timeout == 5


def test_config_file_from_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write(tmp_path, "timezone = 'Europe/Paris'\n")
    monkeypatch.setenv("MONITOR_CONFIG", str(path))
    assert load_settings().timezone == "Europe/Paris"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("[store]\nretention_days = 0\n", "store.retention_days: Input should be greater than"),
        ("[fetch]\ntimeout = 'soon'\n", "fetch.timeout: Input should be a valid number"),
        ("[store]\nretention = 3\n", "store.retention: Extra inputs are not permitted"),
        ("timezone = 'Mars/Olympus'\n", "timezone: Value error, unknown timezone 'Mars/Olympus'"),
        ("[[feeds]]\nurl = 'x'\n", "feeds.0.name: Field required"),
        ("default_channels = ['pager']\n", "default_channels: unknown channel 'pager'"),
        (
            "[[feeds]]\nname='a'\nurl='x'\n[[feeds]]\nname='a'\nurl='y'\n",
            "duplicate feed name(s) a",
        ),
        ("[store\n", "Expected ']'"),
    ],
)
def test_invalid_config_names_the_key_and_the_problem(
    tmp_path: Path, text: str, expected: str
) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        load_settings(path)
    assert expected in str(info.value)
    assert str(path) in str(info.value)


def test_missing_config_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"config file not found: .*nope\.toml"):
        load_settings(tmp_path / "nope.toml")


def test_secrets_are_never_printed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write(
        tmp_path,
        """
[channels.smtp]
type = "email"
host = "127.0.0.1"
from = "monitor@example.org"
to = ["desk@example.org"]
username = "monitor"
""",
    )
    monkeypatch.setenv("MONITOR_CHANNELS__SMTP__PASSWORD", "hunter2-secret")
    settings = load_settings(path)
    channel = settings.channels["smtp"]
    assert channel.password.get_secret_value() == "hunter2-secret"  # type: ignore[union-attr]
    assert "hunter2-secret" not in repr(settings)
    assert "hunter2-secret" not in settings.model_dump_json()


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        (
            "MONITOR_FETCH__TIMEOUT",
            "soon",
            "fetch.timeout: Input should be a valid number, unable to parse string as a number"
            " (environment variable MONITOR_FETCH__TIMEOUT)",
        ),
        (
            "MONITOR_FETCH__TIMOUT",
            "5",
            "fetch.timout: Extra inputs are not permitted (environment variable"
            " MONITOR_FETCH__TIMOUT)",
        ),
        ("MONITOR_TIMEZONEE", "UTC", "environment variable MONITOR_TIMEZONEE: not a setting"),
        ("MONITOR_STORE", "{bad", "MONITOR_STORE: not valid JSON"),
        (
            "MONITOR_CHANNELS__DESK__PORT",
            "x",
            "(environment variable MONITOR_CHANNELS__DESK__PORT)",
        ),
    ],
)
def test_a_bad_environment_variable_is_named_not_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str, value: str, expected: str
) -> None:
    path = write(
        tmp_path,
        '[fetch]\ntimeout = 5\n[channels.desk]\ntype = "email"\nhost = "h"\n'
        'from = "a@example.org"\nto = ["b@example.org"]\n',
    )
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError) as info:
        load_settings(path)
    message = str(info.value)
    assert expected in message
    assert message.startswith("invalid configuration (environment):"), message


def test_file_errors_still_blame_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write(tmp_path, "[fetch]\ntimeout = 'soon'\n")
    monkeypatch.setenv("MONITOR_STORE__RETENTION_DAYS", "0")
    with pytest.raises(ConfigError) as info:
        load_settings(path)
    message = str(info.value)
    assert message.startswith(f"invalid configuration ({path} and environment):")
    assert "fetch.timeout: Input should be a valid number" in message
    assert "(environment variable MONITOR_STORE__RETENTION_DAYS)" in message


def test_log_level_is_checked(tmp_path: Path) -> None:
    assert load_settings(write(tmp_path, "[logging]\nlevel = 'debug'\n")).logging.level == "DEBUG"
    with pytest.raises(ConfigError, match=r"logging\.level: Input should be"):
        load_settings(write(tmp_path, "[logging]\nlevel = 'loud'\n"))
