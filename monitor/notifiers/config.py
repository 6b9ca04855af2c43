"""Settings of the notification channels (``[channels.NAME]``) and digests (``[digests.NAME]``)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Literal, Protocol
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

from monitor.notifiers.limits import EMAIL_MAX_BYTES
from monitor.notifiers.redact import redact_url

DEFAULT_SUBJECT = (
    "[{{ alert.rule.severity | upper }}] {{ alert.rule.title }}:"
    " {{ alert.surge.headline if alert.surge else alert.article.title }}"
)
DEFAULT_DIGEST_SUBJECT = "[digest] {{ digest.title }}: {{ digest.total }} alert(s)"

# Headers the webhook channel sets itself; a configured header may not replace them.
RESERVED_WEBHOOK_HEADERS = frozenset(
    {
        "content-type",
        "content-length",
        "host",
        "webhook-id",
        "webhook-timestamp",
        "webhook-signature",
    }
)


class _Strict(BaseModel):
    # hide_input_in_errors: a rejected value may be a credential (a webhook URL, a secret).
    model_config = ConfigDict(extra="forbid", populate_by_name=True, hide_input_in_errors=True)


class _Channel(_Strict):
    # One short follow-up when more outlets join a story this channel was alerted about.
    story_updates: bool = False


class ConsoleChannel(_Channel):
    """Prints each alert to standard output (text, or the JSON webhook payload)."""

    type: Literal["console"] = "console"
    format: Literal["text", "json"] = "text"


class FolderChannel(_Channel):
    """One ``.eml`` file per message, in a local folder (``maildir``: a Maildir's ``new/``)."""

    type: Literal["folder", "maildir"] = "folder"
    path: Path = Path("mail")
    from_addr: str = Field("monitor@localhost", alias="from")
    to: list[str] = ["analysts@localhost"]
    subject: str = DEFAULT_SUBJECT
    digest_subject: str = DEFAULT_DIGEST_SUBJECT


class EmailChannel(_Channel):
    """SMTP delivery; the password comes from ``MONITOR_CHANNELS__NAME__PASSWORD``."""

    type: Literal["email"] = "email"
    host: str = "localhost"
    port: int = Field(25, ge=1, le=65535)
    tls: Literal["none", "starttls", "tls"] = "none"
    username: str | None = None
    password: SecretStr | None = None
    from_addr: str = Field(alias="from")
    to: list[str] = Field(min_length=1)
    cc: list[str] = []
    bcc: list[str] = []
    subject: str = DEFAULT_SUBJECT
    digest_subject: str = DEFAULT_DIGEST_SUBJECT
    timeout: float = Field(30.0, gt=0)  # the whole send: connect, TLS, AUTH, DATA
    ca_file: Path | None = None
    # AUTH over an unencrypted connection (tls = "none") is refused unless the server is on
    # loopback or this is set: the password would cross the network in clear.
    allow_insecure_auth: bool = False
    max_bytes: int = Field(EMAIL_MAX_BYTES, ge=10_000)  # the whole message as sent

    @model_validator(mode="after")
    def _auth_pair(self) -> EmailChannel:
        if (self.username is None) != (self.password is None):
            raise ValueError("username and password must be given together")
        return self


class WebhookChannel(_Channel):
    """A signed JSON POST (Standard Webhooks); ``format`` picks the payload template."""

    type: Literal["webhook"] = "webhook"
    url: SecretStr  # Slack/Teams/Discord URLs are credentials: shown only via redact_url
    format: Literal["json", "slack", "teams", "discord"] = "json"
    secret: SecretStr | None = None
    headers: dict[str, str] = {}
    timeout: float = Field(10.0, gt=0)  # the whole request, answer included

    @field_validator("url")
    @classmethod
    def _http_url(cls, value: SecretStr) -> SecretStr:
        url = value.get_secret_value()
        try:
            parts = urlsplit(url)
        except ValueError:
            raise ValueError("webhook url is not a valid URL") from None
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError(f"webhook url must be an http(s) URL, got {redact_url(url)}")
        return value

    @field_validator("headers")
    @classmethod
    def _safe_headers(cls, value: dict[str, str]) -> dict[str, str]:
        for name, header_value in value.items():
            if not name or any(c in name for c in ":\r\n ") or not name.isascii():
                raise ValueError(f"invalid header name {name!r}")
            if name.lower() in RESERVED_WEBHOOK_HEADERS:
                raise ValueError(f"header {name!r} is set by the monitor and cannot be replaced")
            if any(ord(c) < 32 or ord(c) == 127 for c in header_value):
                raise ValueError(f"header {name!r} contains control characters")
        return value


class AppriseChannel(_Channel):
    """Any service Apprise knows (https://github.com/caronc/apprise/wiki), by URL.

    The URLs usually hold tokens: they are secrets, shown only redacted.
    """

    type: Literal["apprise"] = "apprise"
    urls: list[SecretStr] = Field(min_length=1)
    timeout: float = Field(30.0, gt=0)  # the whole send, all URLs


ChannelSettings = ConsoleChannel | FolderChannel | EmailChannel | WebhookChannel | AppriseChannel
ChannelConfig = Annotated[ChannelSettings, Field(discriminator="type")]


class DigestConfig(_Strict):
    """A scheduled summary; ``cron`` is a 5-field crontab line evaluated in ``timezone``."""

    cron: str = "0 8 * * *"
    timezone: str = "UTC"
    channels: list[str] = []
    max_items: int = Field(50, ge=1)
    send_empty: bool = False
    title: str | None = None  # shown in the subject and heading; defaults to the digest's name

    @model_validator(mode="after")
    def _valid_schedule(self) -> DigestConfig:
        from apscheduler.triggers.cron import CronTrigger

        try:
            CronTrigger.from_crontab(self.cron, timezone=self.timezone)
        except Exception as exc:  # apscheduler raises ValueError or zoneinfo errors
            raise ValueError(
                f"invalid cron {self.cron!r} / timezone {self.timezone!r}: {exc}"
            ) from exc
        return self


class DeliveryConfig(_Strict):
    """How the outbox worker claims, sends and retries."""

    max_attempts: int = Field(8, ge=1)
    backoff_base: float = Field(30.0, gt=0)  # seconds; doubles per attempt, with jitter
    backoff_max: float = Field(3600.0, gt=0)
    retry_after_max: float = Field(6 * 3600.0, gt=0)  # cap on a server's Retry-After
    poll_interval: float = Field(2.0, gt=0)
    batch_size: int = Field(50, ge=1)
    concurrency: int = Field(4, ge=1)
    lease_seconds: float = Field(300.0, gt=0)  # a claimed row not marked by then is due again
    send_deadline: float = Field(60.0, gt=0)  # one send, start to end, whatever the channel
    stop_grace: float = Field(20.0, ge=0)  # a stop waits this long for sends in progress
    summary_interval: float = Field(
        60.0, gt=0
    )  # how often held (storm/cooldown) alerts are checked


class NotifierSettings(Protocol):
    """The slice of the settings the notifiers read; the app's ``Settings`` provides it."""

    @property
    def timezone(self) -> str: ...
    @property
    def templates_dir(self) -> Path | None: ...
    @property
    def channels(self) -> Mapping[str, ChannelSettings]: ...
    @property
    def digests(self) -> Mapping[str, DigestConfig]: ...
    @property
    def delivery(self) -> DeliveryConfig: ...
    @property
    def effective_default_channels(self) -> list[str]: ...
    @property
    def storm_threshold(self) -> int: ...
    @property
    def storm_window_minutes(self) -> int: ...
