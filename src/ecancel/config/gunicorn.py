"""gunicorn's settings for ecancel, used by ``ecancel up`` and the systemd unit (``--config
python:ecancel.config.gunicorn``): an access log an operator can follow requests with, holding nothing secret.

gunicorn's default line has the query string (searches by a buyer's name, verification codes) and the referrer.
This one has the address, time, method, path, status, size, duration, user agent and the request ID that leads to
the application's own log lines; a QR hand-off's token is cut out of the path.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from gunicorn.glogging import Logger

from ecancel.core.logs import without_secrets

access_log_format = '%(h)s %(t)s "%(m)s %(U)s %(H)s" %(s)s %(B)s %(M)sms "%(a)s" %({x-request-id}o)s'


class AccessLogWithoutSecrets(Logger):
    """gunicorn's logger, with hand-off tokens cut out of every atom that can hold a path."""

    def atoms(self, resp: Any, req: Any, environ: dict[str, Any], request_time: timedelta) -> dict[str, Any]:
        atoms: dict[str, Any] = super().atoms(resp, req, environ, request_time)
        for atom in ("U", "r", "f"):
            if isinstance(atoms.get(atom), str):
                atoms[atom] = without_secrets(atoms[atom])
        return atoms


logger_class = AccessLogWithoutSecrets
