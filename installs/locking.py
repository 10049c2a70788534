"""Row claims with an expiry: one worker at a time works on a skill or an
artifact, and a claim nobody renews is taken over after it expires."""

import logging
import os
import socket
import threading
from datetime import timedelta

from django.conf import settings
from django.db import close_old_connections, connection
from django.utils import timezone

logger = logging.getLogger(__name__)


def worker_name():
    """Return a name for this process that other workers can read."""
    return f"{socket.gethostname()}:{os.getpid()}"


def claim_expiry():
    """Return when a claim made or renewed now runs out."""
    return timezone.now() + timedelta(seconds=settings.SKILLINSTALL_LOCK_TIMEOUT)


def is_expired(expires_at):
    """Return True if a claim with this expiry may be taken over."""
    return expires_at is None or expires_at <= timezone.now()


def renew(model, pk, owner):
    """Extend ``owner``'s claim on a row; return False if it was lost."""
    return bool(
        model.objects.filter(pk=pk, lock_owner=owner).update(
            lock_expires_at=claim_expiry()
        )
    )


def release(model, pk, owner, **fields):
    """Drop ``owner``'s claim on a row (a claim taken over is left alone)."""
    return bool(
        model.objects.filter(pk=pk, lock_owner=owner).update(
            lock_owner="", lock_expires_at=None, **fields
        )
    )


class Heartbeat:
    """Renew claims in the background while a long step runs.

    Use as a context manager around a build; ``claims`` are (model, pk)
    pairs owned by ``owner``. It renews at a third of the lock timeout.
    """

    def __init__(self, owner, claims):
        self.owner = owner
        self.claims = list(claims)
        self._stop = threading.Event()
        self._thread = None

    def add(self, model, pk):
        self.claims.append((model, pk))

    def _run(self):
        interval = max(settings.SKILLINSTALL_LOCK_TIMEOUT / 3, 0.2)
        try:
            while not self._stop.wait(interval):
                for model, pk in list(self.claims):
                    if not renew(model, pk, self.owner):
                        logger.warning(
                            "claim lost owner=%s model=%s pk=%s",
                            self.owner,
                            model.__name__,
                            pk,
                        )
        finally:
            close_old_connections()
            connection.close()

    def __enter__(self):
        self._thread = threading.Thread(target=self._run, name="heartbeat", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc_info):
        self._stop.set()
        self._thread.join()
        return False
