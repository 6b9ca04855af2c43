"""``[http]``: where the status page and metrics listen, and the token that guards them."""

from __future__ import annotations

import ipaddress

from pydantic import BaseModel, ConfigDict, SecretStr, field_validator


def split_listen(value: str) -> tuple[str, int]:
    """``HOST:PORT`` (``[::1]:8787`` for IPv6; an empty host means every interface)."""
    host, sep, port_text = value.strip().rpartition(":")
    if not sep or not port_text.isdigit():
        raise ValueError(f"{value!r} is not HOST:PORT (e.g. 127.0.0.1:8787)")
    port = int(port_text)
    if not 0 <= port <= 65535:
        raise ValueError(f"port {port} is out of range")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
        ipaddress.IPv6Address(host)  # a ValueError names the bad address
    elif ":" in host:
        raise ValueError(f"{value!r}: write an IPv6 address in brackets, e.g. [::1]:8787")
    return host, port


class HttpConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    listen: str | None = None  # "HOST:PORT"; None: no HTTP server
    token: SecretStr | None = None  # required unless listen is a loopback address

    @field_validator("listen")
    @classmethod
    def _host_port(cls, value: str | None) -> str | None:
        if value is not None:
            split_listen(value)
        return value

    @field_validator("token")
    @classmethod
    def _not_empty(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not value.get_secret_value().strip():
            raise ValueError("must not be empty")
        return value
