"""State changes of the notifications module, in modules by concern; the public ones are re-exported here.

- ``subscriptions``: a recipient subscribes to a topic on chosen channels, or stops;
- ``notify``: other modules tell a recipient about an event, inside their own transaction;
- ``inbox``: the recipient reads in-app notifications;
- ``delivery``: sending to external channels after commit, with retries kept in the database;
- ``codes``: one-time codes by SMS for the buyer's 我的 login.
"""

from ecancel.notifications.services.codes import (
    CodeSent,
    CodeVerified,
    OneTimeCodeRefused,
    TooManyCodes,
    one_time_code_send,
    one_time_code_verify,
)
from ecancel.notifications.services.delivery import deliveries_send_due, delivery_send
from ecancel.notifications.services.inbox import notification_mark_read
from ecancel.notifications.services.notify import notify
from ecancel.notifications.services.subscriptions import subscription_cancel, subscription_set

__all__ = [
    "CodeSent",
    "CodeVerified",
    "OneTimeCodeRefused",
    "TooManyCodes",
    "deliveries_send_due",
    "delivery_send",
    "notification_mark_read",
    "notify",
    "one_time_code_send",
    "one_time_code_verify",
    "subscription_cancel",
    "subscription_set",
]
