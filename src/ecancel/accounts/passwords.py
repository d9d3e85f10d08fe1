"""Password rules beyond Django's: long passphrases are welcome, absurd lengths are not."""

from __future__ import annotations

from django.core.exceptions import ValidationError


class MaximumLengthValidator:
    def __init__(self, max_length: int = 128) -> None:
        self.max_length = max_length

    def validate(self, password: str, user: object = None) -> None:
        if len(password) > self.max_length:
            raise ValidationError(
                f"密码不能超过 {self.max_length} 个字符 / Password must be at most {self.max_length} characters",
                code="password_too_long",
            )

    def get_help_text(self) -> str:
        return f"密码最长 {self.max_length} 个字符 / At most {self.max_length} characters"
