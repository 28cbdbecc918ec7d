"""A mail backend for worker processes: one file per message, so a test can count what was sent.

An address with "bounce" in it fails, as a relay refusing it would.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from django.core.mail.backends.base import BaseEmailBackend
from django.core.mail.message import EmailMessage


class DirectoryBackend(BaseEmailBackend):
    def send_messages(self, email_messages: Sequence[EmailMessage]) -> int:
        folder = Path(os.environ["LETTERS_MAILBOX"])
        for message in email_messages:
            if any("bounce" in to for to in message.to):
                raise ConnectionRefusedError("550 mailbox unavailable")
            (folder / f"{uuid.uuid4().hex}.eml").write_bytes(message.message().as_bytes())
        return len(email_messages)

    def open(self) -> Any:
        return True
