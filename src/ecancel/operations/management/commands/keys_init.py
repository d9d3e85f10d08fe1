"""``ecancel keys_init``: make the deployment's private keys now, on purpose, rather than on first use.

Run once per deployment with ``ECANCEL_KEYS_DIR`` on the volume every app server mounts; running it again changes
nothing. The data key ring is not made here: it comes from the secret store as ``ECANCEL_KEY_RING``.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

from django.utils.translation import gettext as _

from ecancel.accounts.models import Organisation
from ecancel.audit.checkpoints import signing_key, signing_key_path
from ecancel.core.commands import LocalisedCommand
from ecancel.exchange.keys import exchange_keys, private_key, secrets_box, secrets_box_path
from ecancel.exchange.routing import hosted_kinds


class Command(LocalisedCommand):
    help = "Create the exchange keys of every hosted organisation, the secrets box and the audit checkpoint key."

    def handle(self, *args: Any, **options: Any) -> None:
        wanted: list[tuple[str, bool, str, Callable[[], object]]] = [
            (_("交换密钥的密封箱"), secrets_box_path().exists(), str(secrets_box_path()), secrets_box),
            (_("审计检查点签名密钥"), signing_key_path().exists(), str(signing_key_path()), signing_key),
        ]
        backend = exchange_keys()
        for organisation in Organisation.objects.filter(kind__in=hosted_kinds()).order_by("name"):
            wanted.append(
                (
                    _("%(organisation)s 的交换签名密钥") % {"organisation": organisation.name},
                    backend.exists(organisation.pk),
                    backend.location(organisation.pk),
                    partial(private_key, organisation.pk),
                )
            )
        for label, existed, path, make in wanted:
            make()
            state = _("已存在") if existed else _("已生成")
            self.stdout.write(f"{state}  {label}  {path}")
