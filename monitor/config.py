"""Settings: a TOML file (``--config`` or ``MONITOR_CONFIG``) overridden by ``MONITOR_*`` variables.

With no file at all the monitor runs on embedded defaults: the seed feeds in
``seeds/``, the rules in ``rules/``, a SQLite store under ``data/``, and alerts
to the console and to a local mail folder.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from monitor.http.config import HttpConfig
from monitor.notifiers.config import (
    ChannelConfig,
    ConsoleChannel,
    DeliveryConfig,
    DigestConfig,
    FolderChannel,
)
from monitor.sources.config import FeedConfig as FeedConfig
from monitor.sources.config import FetchConfig as FetchConfig
from monitor.store.config import StoreConfig

PROJECT_ROOT = Path(__file__).resolve().parent.parent
SEEDS = PROJECT_ROOT / "seeds"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class RulesConfig(_Strict):
    paths: list[Path] = [PROJECT_ROOT / "rules"]  # the starter rule set
    watch: bool = True


class LoggingConfig(_Strict):
    level: str = "INFO"
    format: Literal["text", "json"] = "text"


def _default_channels() -> dict[str, Any]:
    return {"console": ConsoleChannel(), "mail-folder": FolderChannel(path=Path("mail"))}


def _seed_feeds() -> list[FeedConfig]:
    return [
        FeedConfig(name=f"seed-{kind}", url=str(SEEDS / f"seed-feed.{kind}"), backfill_hours=-1)
        for kind in ("rss", "atom")
    ]


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="MONITOR_",
        env_nested_delimiter="__",
        extra="forbid",
    )

    data_dir: Path = Path("data")
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


def _format_validation_error(exc: ValidationError, source: str) -> str:
    lines = [f"invalid configuration ({source}):"]
    for err in exc.errors():
        loc = ".".join(str(p) for p in err["loc"]) or "(top level)"
        lines.append(f"  {loc}: {err['msg']}")
    return "\n".join(lines)


def load_settings(path: Path | str | None = None) -> Settings:
    """Read the config file (if any) and the environment; fail fast with a clear message."""
    if path is None:
        env_path = os.environ.get("MONITOR_CONFIG")
        path = Path(env_path) if env_path else None
    data: dict[str, Any] = {}
    source = "defaults and environment"
    if path is not None:
        path = Path(path)
        source = str(path)
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError as exc:
            raise ConfigError(f"config file not found: {path}") from exc
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{path}: {exc}") from exc
    try:
        settings = Settings(**data)
    except ValidationError as exc:
        raise ConfigError(_format_validation_error(exc, source)) from exc
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
