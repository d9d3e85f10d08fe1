"""Password rules beyond Django's: long passphrases are welcome, absurd lengths are not."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.utils.translation import gettext


class MaximumLengthValidator:
    def __init__(self, max_length: int = 128) -> None:
        self.max_length = max_length

    def validate(self, password: str, user: object = None) -> None:
        if len(password) > self.max_length:
            raise ValidationError(
                gettext("密码不能超过 %(max_length)d 个字符 / Password must be at most %(max_length)d characters"),
                code="password_too_long",
                params={"max_length": self.max_length},
            )

    def get_help_text(self) -> str:
        return gettext("密码最长 %(max_length)d 个字符 / At most %(max_length)d characters") % {
            "max_length": self.max_length
        }
