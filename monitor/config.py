"""Settings: a TOML file (``--config`` or ``MONITOR_CONFIG``) overridden by ``MONITOR_*`` variables.

With no file at all the monitor runs on embedded defaults, shipped inside the package
(:mod:`monitor.resources`): the seed feeds, the starter rules, a SQLite store under the
data directory, and alerts to the console and to a mail folder there. The data directory
is ``data_dir`` from the file, else ``$MONITOR_DATA_DIR``, else the user's data directory
(``$XDG_DATA_HOME/news-monitor``, normally ``~/.local/share/news-monitor``) — never the
current directory unless a config file says so, so that a cron job or a service started
from anywhere finds the same store.
"""

from __future__ import annotations

import os
import sys
import tomllib
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    SettingsError,
)

from monitor.http.config import HttpConfig
from monitor.notifiers.config import (
    ChannelConfig,
    ConsoleChannel,
    DeliveryConfig,
    DigestConfig,
    FolderChannel,
)
from monitor.resources import SEED_FEED_KINDS, rules_dir, seed_feed
from monitor.sources.config import FeedConfig as FeedConfig
from monitor.sources.config import FetchConfig as FetchConfig
from monitor.store.config import StoreConfig
from monitor.stories.config import StoriesConfig

ENV_PREFIX = "MONITOR_"
ENV_CONFIG = "MONITOR_CONFIG"  # the config file's path: read by load_settings, not a setting
APP_NAME = "news-monitor"


def default_data_dir(environ: Mapping[str, str] | None = None) -> Path:
    """Where the store and mail folder live when neither the file nor MONITOR_DATA_DIR says.

    The platform's per-user data directory (XDG on Linux and other Unixes), so that every
    ``monitor`` command finds the same store whatever the current directory.
    """
    env = os.environ if environ is None else environ
    if sys.platform == "win32" and env.get("LOCALAPPDATA"):
        return Path(env["LOCALAPPDATA"]) / APP_NAME
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Application Support" / APP_NAME
    xdg = env.get("XDG_DATA_HOME")
    base = Path(xdg) if xdg and Path(xdg).is_absolute() else Path.home() / ".local" / "share"
    return base / APP_NAME


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class RulesConfig(_Strict):
    paths: list[Path] = Field(default_factory=lambda: [rules_dir()])  # the starter rule set
    watch: bool = True
    max_file_bytes: int = Field(10_000_000, ge=1, description="a larger rule file is refused")


class LoggingConfig(_Strict):
    level: Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"] = "INFO"
    format: Literal["text", "json"] = "text"

    @field_validator("level", mode="before")
    @classmethod
    def _upper(cls, value: object) -> object:
        return value.upper() if isinstance(value, str) else value


def _default_channels() -> dict[str, Any]:
    return {"console": ConsoleChannel(), "mail-folder": FolderChannel(path=Path("mail"))}


def _seed_feeds() -> list[FeedConfig]:
    return [
        FeedConfig(name=f"seed-{kind}", url=str(seed_feed(kind)), backfill_hours=-1)
        for kind in SEED_FEED_KINDS
    ]


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        env_nested_delimiter="__",
        extra="forbid",
    )

    data_dir: Path = Field(default_factory=default_data_dir)
    timezone: str = "UTC"
    templates_dir: Path | None = None
    store: StoreConfig = StoreConfig()
    feeds: list[FeedConfig] = Field(default_factory=_seed_feeds)
    opml: Path | None = None
    fetch: FetchConfig = FetchConfig()
    rules: RulesConfig = RulesConfig()
    channels: dict[str, ChannelConfig] = Field(default_factory=_default_channels)
    default_channels: list[str] = []
    digests: dict[str, DigestConfig] = {}
    delivery: DeliveryConfig = DeliveryConfig()
    storm_threshold: int = Field(10, ge=2, description="more alerts than this for one rule ...")
    storm_window_minutes: int = Field(10, ge=1)
    logging: LoggingConfig = LoggingConfig()
    http: HttpConfig = HttpConfig()
    stories: StoriesConfig = StoriesConfig()

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown timezone {value!r}") from exc
        return value

    @model_validator(mode="after")
    def _check_references(self) -> Settings:
        names = [f.name for f in self.feeds]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"feeds: duplicate feed name(s) {', '.join(dupes)}")
        for name in self.default_channels:
            if name not in self.channels:
                raise ValueError(f"default_channels: unknown channel {name!r}")
        for digest_name, digest in self.digests.items():
            for name in digest.channels:
                if name not in self.channels:
                    raise ValueError(f"digests.{digest_name}.channels: unknown channel {name!r}")
        return self

    @property
    def store_url(self) -> str:
        """The store URL, with the default under ``data_dir`` filled in."""
        return self.store.url or f"sqlite:///{self.data_dir / 'monitor.db'}"

    @property
    def effective_default_channels(self) -> list[str]:
        return list(self.default_channels) or list(self.channels)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # The environment wins over the file, which is passed as init values.
        return (env_settings, init_settings)


class ConfigError(ValueError):
    """The configuration is invalid; the message names the key and the problem."""


def _settings_env(environ: Mapping[str, str]) -> dict[str, tuple[str, ...]]:
    """``MONITOR_*`` variables that are settings, each with its key path (lower case)."""
    prefix = ENV_PREFIX.lower()
    return {
        name: tuple(name[len(prefix) :].lower().split("__"))
        for name in environ
        if name.lower().startswith(prefix) and name.upper() != ENV_CONFIG
    }


def _unknown_env(env: Mapping[str, tuple[str, ...]]) -> list[str]:
    """Variables naming no setting: a typo that would otherwise be silently ignored."""
    known = set(Settings.model_fields)
    return [
        f"  environment variable {name}: not a setting (top-level keys: {', '.join(sorted(known))})"
        for name, path in sorted(env.items())
        if path[0] not in known
    ]


def _is_subsequence(short: Sequence[str], long: Sequence[str]) -> bool:
    it = iter(long)
    return all(part in it for part in short)


def _blamed_variables(loc: Sequence[str], env: Mapping[str, tuple[str, ...]]) -> list[str]:
    """The variables that set the key an error is about (or a table containing it).

    The error's location may hold a channel's ``type`` tag that the variable does not
    (``channels.desk.email.port`` for ``MONITOR_CHANNELS__DESK__PORT``), hence subsequence.
    """
    return [
        name
        for name, path in env.items()
        if path[0] == loc[0] and (_is_subsequence(path, loc) or tuple(loc) == path[: len(loc)])
    ]


def _format_validation_error(
    exc: ValidationError, source: str, env: Mapping[str, tuple[str, ...]]
) -> str:
    lines = []
    sources: set[str] = set()
    for err in exc.errors():
        loc = [str(p).lower() for p in err["loc"]]
        where = ".".join(str(p) for p in err["loc"]) or "(top level)"
        blamed = _blamed_variables(loc, env) if loc else []
        if blamed:
            sources.add("environment")
            lines.append(f"  {where}: {err['msg']} (environment variable {', '.join(blamed)})")
        else:
            sources.add(source)
            lines.append(f"  {where}: {err['msg']}")
    header = " and ".join(s for s in (source, "environment") if s in sources)
    return "\n".join([f"invalid configuration ({header}):", *lines])


def _env_parse_error(exc: SettingsError, env: Mapping[str, tuple[str, ...]]) -> str:
    """pydantic-settings' "error parsing value for field X": name the variable instead."""
    message = str(exc)
    names = [name for name, path in env.items() if f'field "{path[0]}"' in message]
    if names:
        return f"invalid configuration (environment): {', '.join(names)}: not valid JSON ({exc})"
    return f"invalid configuration (environment): {exc}"


def load_settings(path: Path | str | None = None) -> Settings:
    """Read the config file (if any) and the environment; fail fast with a clear message.

    An error is blamed on the ``MONITOR_*`` variable that set the key when there is one
    (the environment wins over the file), else on the file.
    """
    environ = os.environ
    if path is None:
        env_path = environ.get(ENV_CONFIG)
        path = Path(env_path) if env_path else None
    data: dict[str, Any] = {}
    source = "defaults"
    if path is not None:
        path = Path(path)
        source = str(path)
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError as exc:
            raise ConfigError(f"config file not found: {path}") from exc
        except IsADirectoryError as exc:
            raise ConfigError(f"config file {path} is a directory") from exc
        except OSError as exc:
            raise ConfigError(f"cannot read config file {path}: {exc.strerror or exc}") from exc
        except UnicodeDecodeError as exc:
            raise ConfigError(f"{path}: not UTF-8 text ({exc.reason})") from exc
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{path}: {exc}") from exc
    env = _settings_env(environ)
    unknown = _unknown_env(env)
    if unknown:
        raise ConfigError("\n".join(["invalid configuration (environment):", *unknown]))
    try:
        settings = Settings(**data)
    except ValidationError as exc:
        raise ConfigError(_format_validation_error(exc, source, env)) from exc
    except SettingsError as exc:
        raise ConfigError(_env_parse_error(exc, env)) from exc
    return resolve_paths(settings, path.parent if path is not None else Path.cwd())


def _is_local(url: str) -> bool:
    return "://" not in url


def resolve_paths(settings: Settings, base: Path) -> Settings:
    """Make relative paths absolute: the config file's folder is their base (else the cwd).

    A folder channel's relative path and the default store live under ``data_dir``.
    """

    def absolute(p: Path) -> Path:
        p = p.expanduser()
        return p if p.is_absolute() else (base / p).resolve()

    data_dir = absolute(settings.data_dir)
    store_url = settings.store.url or f"sqlite:///{data_dir / 'monitor.db'}"
    if store_url.startswith("sqlite:///") and not Path(store_url[10:]).is_absolute():
        store_url = f"sqlite:///{absolute(Path(store_url[10:]))}"
    channels: dict[str, Any] = {}
    for name, channel in settings.channels.items():
        if isinstance(channel, FolderChannel) and not channel.path.is_absolute():
            channel = channel.model_copy(update={"path": data_dir / channel.path})
        channels[name] = channel
    return settings.model_copy(
        update={
            "data_dir": data_dir,
            "store": settings.store.model_copy(update={"url": store_url}),
            "feeds": [
                f.model_copy(update={"url": str(absolute(Path(f.url)))}) if _is_local(f.url) else f
                for f in settings.feeds
            ],
            "opml": absolute(settings.opml) if settings.opml else None,
            "rules": settings.rules.model_copy(
                update={"paths": [absolute(p) for p in settings.rules.paths]}
            ),
            "templates_dir": absolute(settings.templates_dir) if settings.templates_dir else None,
            "channels": channels,
        }
    )
