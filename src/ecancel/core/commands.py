"""Management commands speak one language: the deployment's (``LANGUAGE_CODE``), or ``ECANCEL_LANGUAGE`` if set.

Their machine-readable output (``--json``, raw tokens, PEM) is the same in every language.
"""

from __future__ import annotations

import os
from typing import Any

from django.core.management.base import BaseCommand
from django.utils import translation


class LocalisedCommand(BaseCommand):
    """A command whose messages follow ``ECANCEL_LANGUAGE`` (``en``, ``zh-hant``...) when it is set."""

    def execute(self, *args: Any, **options: Any) -> str | None:
        language = os.environ.get("ECANCEL_LANGUAGE", "").strip()
        if not language:
            return super().execute(*args, **options)
        with translation.override(language):
            return super().execute(*args, **options)
