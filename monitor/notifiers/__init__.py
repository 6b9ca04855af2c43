"""Notifiers: render alerts and digests and deliver them through the outbox.

The pipeline calls :func:`enqueue_alert` inside its transaction; the daemon runs a
:class:`Notifier` that drains the outbox and builds digests on their schedule.
"""

from monitor.notifiers.errors import DeliveryError, NotifierConfigError
from monitor.notifiers.notifier import Notifier
from monitor.notifiers.routing import enqueue_alert

__all__ = ["DeliveryError", "Notifier", "NotifierConfigError", "enqueue_alert"]
