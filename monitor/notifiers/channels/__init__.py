"""Delivery channels: each sends one rendered alert or digest, or raises DeliveryError."""

from monitor.notifiers.channels.apprise_channel import AppriseSender
from monitor.notifiers.channels.base import Channel, Item
from monitor.notifiers.channels.console import ConsoleSender
from monitor.notifiers.channels.email import EmailSender
from monitor.notifiers.channels.folder import FolderSender
from monitor.notifiers.channels.webhook import WebhookSender

__all__ = [
    "AppriseSender",
    "Channel",
    "ConsoleSender",
    "EmailSender",
    "FolderSender",
    "Item",
    "WebhookSender",
]
