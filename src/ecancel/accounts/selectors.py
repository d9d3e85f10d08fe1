"""Reads for the login pages: the user of a half-finished login, the authenticator being enrolled."""

from __future__ import annotations

from django_otp.plugins.otp_totp.models import TOTPDevice

from ecancel.accounts.models import User


def active_user_get(user_id: int) -> User | None:
    """The active user with this id; None once deactivated."""
    return User.objects.filter(pk=user_id, is_active=True).first()


def totp_device_enrolling_get(*, user: User, device_id: object) -> TOTPDevice | None:
    """The user's unconfirmed authenticator with this id (the one whose QR the enrolment page showed)."""
    if device_id is None:
        return None
    return TOTPDevice.objects.filter(pk=device_id, user=user, confirmed=False).first()
