"""Settings of the notification channels (``[channels.NAME]``) and digests (``[digests.NAME]``)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr

DEFAULT_SUBJECT = (
    "[{{ alert.rule.severity | upper }}] {{ alert.rule.title }}: {{ alert.article.title }}"
)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class ConsoleChannel(_Strict):
    type: Literal["console"] = "console"
    format: Literal["text", "json"] = "text"


class FolderChannel(_Strict):
    """One ``.eml`` file per message, in a local folder (a maildir-like drop box)."""

    type: Literal["folder", "maildir"] = "folder"
    path: Path = Path("mail")
    from_addr: str = Field("monitor@localhost", alias="from")
    to: list[str] = ["analysts@localhost"]
    subject: str = DEFAULT_SUBJECT


class EmailChannel(_Strict):
    type: Literal["email"] = "email"
    host: str = "localhost"
    port: int = 25
    tls: Literal["none", "starttls", "tls"] = "none"
    username: str | None = None
    password: SecretStr | None = None
    from_addr: str = Field(alias="from")
    to: list[str]
    cc: list[str] = []
    bcc: list[str] = []
    subject: str = DEFAULT_SUBJECT
    timeout: float = 30.0
    ca_file: Path | None = None


class WebhookChannel(_Strict):
    type: Literal["webhook"] = "webhook"
    url: str
    format: Literal["json", "slack", "teams", "discord"] = "json"
    secret: SecretStr | None = None
    headers: dict[str, str] = {}
    timeout: float = 10.0


ChannelConfig = Annotated[
    ConsoleChannel | FolderChannel | EmailChannel | WebhookChannel, Field(discriminator="type")
]


class DigestConfig(_Strict):
    cron: str = "0 8 * * *"
    timezone: str = "UTC"
    channels: list[str] = []
    max_items: int = 50
    send_empty: bool = False


class DeliveryConfig(_Strict):
    """How the outbox worker retries."""

    max_attempts: int = 8
    backoff_base: float = 30.0  # seconds; doubles per attempt, with jitter
    backoff_max: float = 3600.0
    poll_interval: float = 2.0
    batch_size: int = 50
