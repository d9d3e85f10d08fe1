"""The one NinjaAPI: ``/api/``, OpenAPI at ``/api/openapi.json``, docs at ``/api/docs`` (served locally).

Each side adds its router here; every router inherits authentication and the error shape.
"""

from __future__ import annotations

from typing import Any

from django.urls import URLPattern, URLResolver, re_path
from ninja import NinjaAPI, Swagger
from ninja.openapi.schema import OpenAPISchema

from ecancel.api.auth import ApiTokenAuth, StaffSessionAuth
from ecancel.api.errors import api_not_found, declare_error_answers, install_error_handlers, shape_not_allowed
from ecancel.api.filing import router as filing_router
from ecancel.api.text import declare_plain_text, refuse_control_characters

DESCRIPTION = """商品房买卖合同电子注销（电子公证）系统接口 / ecancel API.

认证 / Authentication: 工作人员登录会话（修改类请求需附 `X-CSRFToken`），或系统对接令牌
`Authorization: Bearer ect_…`（由系统管理员用 `ecancel api_token create` 签发）。

错误格式 / Errors: 所有错误均为 `{"code", "message", "message_en", "fields"}`；
`message` 使用请求的语言（`Accept-Language`：zh-hans、zh-hant、en），`message_en` 总是英文；
字段错误返回 422，`fields` 中按字段给出同样的两种说明。
`message` is in the request's language (Accept-Language: zh-hans, zh-hant or en), `message_en` always English.

文本 / Text: 任何字段和查询参数都不能包含控制字符（NUL 等，换行和制表符除外），否则返回 422。
No field or query parameter may hold control characters (NUL and the like; line breaks and tabs are fine): 422.

分页 / Paging: `page` 超出末页时返回空的 `items` 和实际的 `count`。A page past the end has no items and the true count.
"""


class EcancelAPI(NinjaAPI):
    """The document states what every operation can answer besides success, and the plain-text rule."""

    def get_openapi_schema(self, *, path_prefix: str | None = None, path_params: Any = None) -> OpenAPISchema:
        document = super().get_openapi_schema(path_prefix=path_prefix, path_params=path_params)
        declare_error_answers(document)
        declare_plain_text(document)
        return document


api = EcancelAPI(
    title="ecancel",
    version="1",
    description=DESCRIPTION,
    urls_namespace="api",
    docs=Swagger(settings={"persistAuthorization": False}),
    auth=[ApiTokenAuth(), StaffSessionAuth()],
)
install_error_handlers(api)
api.add_decorator(refuse_control_characters, mode="operation")

api.add_router("/filing/", filing_router, tags=["filing 网签备案"])
api.add_router("/filing/", "ecancel.api.applications.router", tags=["applications 注销申请"])
api.add_router("/notary/", "ecancel.api.notary.router", tags=["notary 公证处"])


def api_urlpatterns() -> tuple[list[URLPattern | URLResolver], str, str]:
    """The API's URLs with the common error shape for wrong methods and unknown addresses."""
    patterns, app_name, namespace = api.urls
    for pattern in patterns:
        if isinstance(pattern, URLPattern):
            pattern.callback = shape_not_allowed(pattern.callback)
    return [*patterns, re_path(r"^.*$", api_not_found)], app_name, namespace
