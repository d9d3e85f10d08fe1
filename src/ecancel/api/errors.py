"""One error shape for the whole API: ``{"code", "message", "message_en", "fields"}``.

``message`` is in the request's language (Accept-Language or the language cookie), ``message_en`` in English;
``fields`` maps an input name to its own pair.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar, cast

from django.core.exceptions import PermissionDenied, RequestDataTooBig
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseNotAllowed, JsonResponse
from django.utils.translation import gettext_lazy as _
from ninja import NinjaAPI, Schema
from ninja.errors import AuthenticationError, AuthorizationError, HttpError, ValidationError

from ecancel.core.errors import DomainError, FieldMessage, Text

logger = logging.getLogger("ecancel.api")

E = TypeVar("E", bound=Exception)

PARAM_SOURCES = {"body", "query", "path", "header", "cookie", "form", "file"}

STATUS_ERRORS: dict[int, tuple[str, Text]] = {
    400: ("bad_request", _("请求格式不正确")),
    401: ("unauthorized", _("请先登录，或在 Authorization 头中提供有效的接口令牌")),
    403: ("forbidden", _("无权执行此操作")),
    404: ("not_found", _("未找到该记录或接口")),
    405: ("method_not_allowed", _("该接口不支持此请求方法")),
    409: ("conflict", _("记录状态已变化，请刷新后重试")),
    413: ("too_large", _("请求内容过大")),
    429: ("throttled", _("请求过于频繁，请稍后再试")),
    500: ("internal_error", _("系统内部错误，已记录，请稍后重试")),
}

# Pydantic error types a client will meet, translated; anything else falls back to a generic message.
VALIDATION_MESSAGES: dict[str, Text] = {
    "missing": _("必填项未填写"),
    "string_type": _("应为文本"),
    "string_too_short": _("内容过短"),
    "string_too_long": _("内容过长"),
    "string_pattern_mismatch": _("格式不正确"),
    "int_parsing": _("应为整数"),
    "int_type": _("应为整数"),
    "float_parsing": _("应为数字"),
    "decimal_parsing": _("应为数字"),
    "bool_parsing": _("应为 true 或 false"),
    "greater_than_equal": _("数值过小"),
    "greater_than": _("数值过小"),
    "less_than_equal": _("数值过大"),
    "less_than": _("数值过大"),
    "uuid_parsing": _("应为有效的 UUID 编号"),
    "uuid_type": _("应为有效的 UUID 编号"),
    "date_parsing": _("日期格式应为 YYYY-MM-DD"),
    "date_from_datetime_parsing": _("日期格式应为 YYYY-MM-DD"),
    "datetime_parsing": _("时间格式应为 ISO 8601"),
    "enum": _("取值不在允许范围内"),
    "literal_error": _("取值不在允许范围内"),
    "json_invalid": _("请求体不是有效的 JSON"),
    "model_attributes_type": _("请求体格式不正确"),
    "dict_type": _("应为对象"),
    "list_type": _("应为数组"),
    "extra_forbidden": _("不允许的字段"),
    "value_error": _("取值无效"),
}


def error_payload(code: str, text: Text, fields: dict[str, FieldMessage] | None = None) -> dict[str, Any]:
    """The one shape; ``message`` in the request's language (LocaleMiddleware), ``message_en`` in English."""
    return DomainError(text, code=code, fields=fields).as_payload()


def status_response(status: int) -> JsonResponse:
    code, text = STATUS_ERRORS.get(status, STATUS_ERRORS[400])
    return JsonResponse(error_payload(code, text), status=status)


def field_name(loc: list[Any] | tuple[Any, ...]) -> str:
    """``["body", "payload", "buyers", 0, "name"]`` → ``"buyers.0.name"``: the name the client sent."""
    parts = [str(p) for p in loc]
    if parts and parts[0] in PARAM_SOURCES:
        parts = parts[1:]
        # A schema parameter appears under its Python name first; clients never see that name.
        if len(parts) > 1 and loc[0] in {"body", "form"}:
            parts = parts[1:]
    return ".".join(parts) or "__all__"


def validation_fields(errors: list[dict[str, Any]]) -> dict[str, FieldMessage]:
    fields: dict[str, FieldMessage] = {}
    for error in errors:
        name = field_name(error.get("loc", ()))
        text = VALIDATION_MESSAGES.get(str(error.get("type", "")), _("取值无效"))
        fields.setdefault(name, FieldMessage(text))
    return fields


def handle(api: NinjaAPI, exc_class: type[E], handler: Callable[[HttpRequest, E], HttpResponse]) -> None:
    """Register a handler; ninja's own annotation also admits exception classes, which we never get."""
    api.add_exception_handler(exc_class, cast(Any, handler))


def install_error_handlers(api: NinjaAPI) -> None:
    def on_domain_error(request: HttpRequest, exc: DomainError) -> HttpResponse:
        return api.create_response(request, exc.as_payload(), status=exc.http_status)

    def on_validation_error(request: HttpRequest, exc: ValidationError) -> HttpResponse:
        payload = error_payload(
            "validation_failed",
            _("提交的内容有误，请按字段提示修改"),
            validation_fields(list(exc.errors)),
        )
        return api.create_response(request, payload, status=422)

    def on_authentication_error(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
        response = status_response(401)
        response["WWW-Authenticate"] = 'Bearer realm="ecancel"'
        return response

    def on_authorization_error(request: HttpRequest, exc: AuthorizationError) -> HttpResponse:
        return status_response(403)

    def on_http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
        if exc.status_code == 403 and "CSRF" in str(exc):
            return JsonResponse(
                error_payload("csrf_failed", _("请求缺少有效的 CSRF 令牌，请刷新页面后重试")),
                status=403,
            )
        return status_response(exc.status_code)

    def on_not_found(request: HttpRequest, exc: Http404) -> HttpResponse:
        return status_response(404)

    def on_permission_denied(request: HttpRequest, exc: PermissionDenied) -> HttpResponse:
        return status_response(403)

    def on_too_large(request: HttpRequest, exc: RequestDataTooBig) -> HttpResponse:
        return status_response(413)

    def on_unexpected(request: HttpRequest, exc: Exception) -> HttpResponse:
        logger.exception("unexpected API error on %s %s", request.method, request.path)
        return status_response(500)

    handle(api, DomainError, on_domain_error)
    handle(api, ValidationError, on_validation_error)
    handle(api, AuthenticationError, on_authentication_error)
    handle(api, AuthorizationError, on_authorization_error)
    handle(api, HttpError, on_http_error)
    handle(api, Http404, on_not_found)
    handle(api, PermissionDenied, on_permission_denied)
    handle(api, RequestDataTooBig, on_too_large)
    handle(api, Exception, on_unexpected)


def shape_not_allowed(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Ninja answers a wrong method with a bare 405; give it the common shape."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        response = view(request, *args, **kwargs)
        if isinstance(response, HttpResponseNotAllowed):
            shaped = status_response(405)
            shaped["Allow"] = response["Allow"]
            return shaped
        return response

    return wrapped


def api_not_found(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
    """Any /api/ address no route matches."""
    return status_response(404)


class FieldMessageOut(Schema):
    message: str
    message_en: str


class ErrorOut(Schema):
    """The one error shape, as the OpenAPI document declares it."""

    code: str
    message: str
    message_en: str
    fields: dict[str, FieldMessageOut]


UNSAFE_METHODS = {"post", "put", "patch", "delete"}

ERROR_ANSWERS: dict[int, str] = {
    400: "请求体不是有效的 JSON / The body is not valid JSON",
    401: "未登录或接口令牌无效 / No session or API token",
    403: "缺少 CSRF 令牌（登录会话的修改类请求）/ CSRF check failed (session, unsafe method)",
    404: "记录不存在或属于其他机构，或接口不对本机构开放 / Not found, another organisation's, or not for yours",
    409: "状态不允许此操作，或版本已过期 / The record's state or version does not allow this",
    413: "请求体超过大小上限 / The body is over the size limit",
    422: "输入有误，fields 按字段说明 / Invalid input; fields says which and why",
}


def _error_answers_for(method: str, operation: dict[str, Any]) -> list[int]:
    statuses = [404]
    if operation.get("security"):
        statuses.append(401)
    if method in UNSAFE_METHODS:
        statuses += [403, 409]
    if "requestBody" in operation:
        statuses += [400, 413]
    if operation.get("parameters") or "requestBody" in operation:
        statuses.append(422)
    return sorted(statuses)


def declare_error_answers(document: dict[str, Any]) -> None:
    """Add the error answers each operation can give, all with the one shape, to an OpenAPI document."""
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    error_schema = ErrorOut.model_json_schema(ref_template="#/components/schemas/{model}")
    schemas.update(error_schema.pop("$defs", {}))
    schemas[ErrorOut.__name__] = error_schema
    content = {"application/json": {"schema": {"$ref": f"#/components/schemas/{ErrorOut.__name__}"}}}
    for operations in document.get("paths", {}).values():
        for method, operation in operations.items():
            responses = operation.setdefault("responses", {})
            for status in _error_answers_for(method, operation):
                responses.setdefault(str(status), {"description": ERROR_ANSWERS[status], "content": content})
