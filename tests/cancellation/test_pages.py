"""The operator's application pages: the manual's steps 1–6 through the browser's requests."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.paginator import Paginator
from django.template.loader import render_to_string
from django.test import Client, RequestFactory

from ecancel.accounts.models import Organisation, Role, User
from ecancel.cancellation.models import Agent, Application
from ecancel.cancellation.transitions import ApplicationStatus, RevokeStatus
from ecancel.filing.models import FiledContract
from ecancel.identity.id_numbers import mask_id_number
from tests.cancellation.conftest import accepted_body, notary_says, pdf_bytes
from tests.conftest import logged_in_client
from tests.factories import UserFactory, mainland_id


def page(client: Client, url: str) -> str:
    response = client.get(url)
    assert response.status_code == 200, (url, response.status_code)
    return response.content.decode()


def applicants_post(application: Application, **changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "applicants-TOTAL_FORMS": str(application.applicants.count()),
        "applicants-INITIAL_FORMS": str(application.applicants.count()),
    }
    for index, a in enumerate(application.applicants.order_by("position")):
        data.update(
            {
                f"applicants-{index}-name": a.name,
                f"applicants-{index}-id_type": a.id_type,
                f"applicants-{index}-id_number": "",
                f"applicants-{index}-phone": a.phone,
                f"applicants-{index}-address": a.address,
            }
        )
    data.update(changes)
    return data


def draft_post(application: Application, **changes: Any) -> dict[str, Any]:
    """The whole draft form as the page sends it, with the saved values and ``changes`` on top."""
    application.refresh_from_db()
    data: dict[str, Any] = {
        "reason": application.reason,
        "detail": application.reason_detail,
        "refund_amount": str(application.refund_amount),
        "refund_method": application.refund_method,
        "refund_days": str(application.refund_days),
        "notary_office": str(application.notary_office_id or ""),
        "agent-name": "",
        "agent-id_type": "mainland_id",
        "agent-id_number": "",
        "agent-phone": "",
        **applicants_post(application),
    }
    data.update(changes)
    return data


def test_create_fill_push_and_show_the_qr(
    operator_client: Client, contract: FiledContract, notary_office: Organisation, developer: Organisation
) -> None:
    html = page(operator_client, f"/operator/contracts/{contract.pk}/")
    assert "新建 商品房买卖合同注销-电子公证" in html
    html = page(operator_client, f"/operator/contracts/{contract.pk}/cancellation/new/")
    assert contract.contract_no in html and "确定" in html
    response = operator_client.post(f"/operator/contracts/{contract.pk}/cancellation/new/")
    application = Application.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/operator/applications/{application.pk}/"
    url = response["Location"]

    html = page(operator_client, url)
    assert (
        'id="push-button"' in html
        and "disabled" in html.split('id="push-button"')[0][-200:] + html.split('id="push-button"')[1][:50]
    )
    assert "请选择退房原因" in html and "请选择公证处" in html
    first = application.applicants.get(position=1)
    assert first.id_number not in html, "ID numbers are masked on screens"

    response = operator_client.post(
        f"{url}save/",
        draft_post(
            application,
            reason="loan_refused",
            notary_office=str(notary_office.pk),
            **{"applicants-1-phone": "13522223333"},
        ),
    )
    assert response.status_code == 302
    assert application.applicants.get(position=2).phone == "13522223333"
    html = page(operator_client, url)
    assert f'href="{url}push/"' in html

    html = page(operator_client, f"{url}push/")
    assert "商品房买卖合同终止协议" in html and notary_office.name in html
    response = operator_client.post(f"{url}push/", {"version": 1, "notary_office": notary_office.pk})
    assert response.status_code == 302
    application.refresh_from_db()
    assert application.status == ApplicationStatus.PUSHED
    html = page(operator_client, url)
    assert "正在等待公证处受理" in html
    # The push's notice holds while the application is 已推送; the page drops it when the poll shows it moved on.
    assert 'data-while-status="pushed">电子材料已生成并推送公证处' in html
    assert operator_client.get(f"{url}documents/1/form/?inline=1").status_code == 200
    download = operator_client.get(f"{url}documents/1/agreement/")
    assert download["Content-Disposition"].startswith("attachment")
    assert download["X-Content-Type-Options"] == "nosniff"

    body = accepted_body(application)
    notary_says(notary_office, developer, "case.accepted", body)
    html = page(operator_client, url)
    assert "查看二维码" in html and body["handoff_url"] in html and "<svg" in html
    assert body["case_no"] in html
    printed = page(operator_client, f"{url}qr/print")
    assert body["handoff_url"] in printed and "<svg" in printed and "data-print" in printed

    html = page(operator_client, f"{url}revoke/")
    assert "原二维码立即失效" in html
    response = operator_client.post(f"{url}revoke/", {"version": 1, "reason": "电话有误"})
    assert response.status_code == 302
    application.refresh_from_db()
    assert application.status == ApplicationStatus.AWAITING_BUYERS
    assert application.revoke_requests.get().status == RevokeStatus.PENDING
    html = page(operator_client, url)
    assert "正在等待公证处确认" in html and 'id="revoke-badge"' in html
    assert f"{url}revoke/" not in html, "no second revoke is offered while one waits"
    assert operator_client.get(f"{url}qr/print").status_code == 404
    revoking = page(operator_client, "/operator/applications/?status=revoking")
    assert application.number in revoking and "badge--revoking" in revoking, "the list's 撤销中 filter finds it"
    assert application.number not in page(operator_client, "/operator/applications/?status=draft")


def test_bad_input_is_shown_next_to_the_field(operator_client: Client, application: Application) -> None:
    url = f"/operator/applications/{application.pk}/"
    response = operator_client.post(f"{url}save/", draft_post(application, reason="other", detail=""))
    assert response.status_code == 422
    assert "请填写具体原因" in response.content.decode()
    wrong = mainland_id(555)
    response = operator_client.post(f"{url}save/", draft_post(application, **{"applicants-0-id_number": wrong}))
    assert response.status_code == 422
    assert "不是本合同的买受人" in response.content.decode()
    application.refresh_from_db()
    assert application.reason == ""


def test_agent_with_upload_and_download(operator_client: Client, application: Application) -> None:
    url = f"/operator/applications/{application.pk}/"
    first = application.applicants.get(position=1)
    upload = pdf_bytes()
    from django.core.files.uploadedfile import SimpleUploadedFile

    response = operator_client.post(
        f"{url}save/",
        draft_post(
            application,
            **{
                "agent-name": "赵代理",
                "agent-id_type": "mainland_id",
                "agent-id_number": mainland_id(432),
                "agent-phone": "13600000000",
                "agent-acts_for": [str(first.pk)],
                "agent-power_of_attorney": SimpleUploadedFile("../../etc/passwd.pdf", upload, content_type="text/html"),
            },
        ),
    )
    assert response.status_code == 302
    agent = Agent.objects.get()
    assert "passwd" not in agent.power_of_attorney.name
    download = operator_client.get(f"{url}agent/power-of-attorney/")
    assert download.status_code == 200
    assert b"".join(download.streaming_content) == upload
    assert download["Content-Type"] == "application/pdf"
    assert download["X-Content-Type-Options"] == "nosniff"
    from ecancel.audit.models import AuditEvent

    assert AuditEvent.objects.filter(tag="cancellation.power_of_attorney.downloaded").count() == 1
    response = operator_client.post(f"{url}agent/remove/")
    assert response.status_code == 302
    assert not Agent.objects.exists()


def test_abandon_with_confirm(operator_client: Client, application: Application) -> None:
    url = f"/operator/applications/{application.pk}/"
    assert "作废后本申请关闭" in page(operator_client, f"{url}abandon/")
    assert operator_client.post(f"{url}abandon/", {"version": 1}).status_code == 302
    application.refresh_from_db()
    assert application.status == ApplicationStatus.ABANDONED
    html = page(operator_client, f"/operator/contracts/{application.contract_id}/")
    assert "新建 商品房买卖合同注销-电子公证" in html


def test_contract_page_links_the_open_application(operator_client: Client, application: Application) -> None:
    html = page(operator_client, f"/operator/contracts/{application.contract_id}/")
    assert application.number in html and "新建 商品房买卖合同注销-电子公证" not in html
    html = page(operator_client, f"/operator/contracts/{application.contract_id}/cancellation/new/")
    assert "已有未完结的注销申请" in html
    response = operator_client.post(f"/operator/contracts/{application.contract_id}/cancellation/new/")
    assert response.status_code == 200
    assert application.number in response.content.decode()
    assert Application.objects.count() == 1


def test_list_and_search(operator_client: Client, application: Application) -> None:
    html = page(operator_client, "/operator/applications/")
    assert application.number in html
    assert "共 1 份申请" in html and '<span class="is-current" aria-current="page">1</span>' in html
    assert application.number not in page(operator_client, "/operator/applications/?q=nothing-like-this")
    assert application.number in page(operator_client, f"/operator/applications/?q={application.contract.contract_no}")


def application_routes(application: Application) -> list[tuple[str, str]]:
    base = f"/operator/applications/{application.pk}/"
    return [
        ("get", base),
        ("get", f"{base}status/"),
        ("post", f"{base}save/"),
        ("get", f"{base}agent/remove/"),
        ("post", f"{base}agent/remove/"),
        ("get", f"{base}agent/power-of-attorney/"),
        ("get", f"{base}push/"),
        ("post", f"{base}push/"),
        ("get", f"{base}revoke/"),
        ("post", f"{base}revoke/"),
        ("get", f"{base}abandon/"),
        ("post", f"{base}abandon/"),
        ("get", f"{base}qr/print"),
        ("get", f"{base}documents/1/form/"),
        ("get", f"/operator/contracts/{application.contract_id}/cancellation/new/"),
        ("post", f"/operator/contracts/{application.contract_id}/cancellation/new/"),
    ]


def test_another_company_gets_404_on_every_route(application: Application, other_developer: Organisation) -> None:
    stranger = logged_in_client(UserFactory(organisation=other_developer, role=Role.OPERATOR))
    for method, url in application_routes(application):
        assert getattr(stranger, method)(url).status_code == 404, (method, url)
    assert application.number not in page(stranger, "/operator/applications/")
    application.refresh_from_db()
    assert application.status == ApplicationStatus.DRAFT


@pytest.mark.parametrize("role", [Role.NOTARY_CLERK, Role.NOTARY])
def test_notary_staff_get_404(application: Application, notary_office: Organisation, role: str) -> None:
    clerk = logged_in_client(UserFactory(organisation=notary_office, role=role))
    for method, url in [*application_routes(application), ("get", "/operator/applications/")]:
        assert getattr(clerk, method)(url).status_code == 404, (method, url)


def test_anonymous_is_sent_to_login(client: Client, application: Application) -> None:
    for method, url in [*application_routes(application), ("get", "/operator/applications/")]:
        response = getattr(client, method)(url)
        assert response.status_code == 302 and response["Location"].startswith("/login/"), (method, url)


def test_operator_admin_of_the_company_may_act(application: Application, developer: Organisation) -> None:
    admin: User = UserFactory(organisation=developer, role=Role.OPERATOR_ADMIN)
    assert application.number in page(logged_in_client(admin), f"/operator/applications/{application.pk}/")


def test_stuck_delivery_is_explained(
    operator_client: Client, ready_application: Application, notary_office: Organisation, operator: User
) -> None:
    from ecancel.accounts.actors import Actor
    from ecancel.cancellation.services.push import application_push
    from ecancel.core.context import RequestContext
    from ecancel.exchange.models import OutboxMessage

    application_push(
        application_id=ready_application.pk,
        notary_office_id=notary_office.pk,
        actor=Actor.staff(operator),
        ctx=RequestContext.system(),
    )
    url = f"/operator/applications/{ready_application.pk}/"
    rows = OutboxMessage.objects.filter(stream=str(ready_application.pk))
    rows.update(attempts=3, last_error="ConnectError: [Errno 111] Connection refused")
    html = page(operator_client, url)
    assert "暂时无法连接公证处，系统将自动重试" in html and "Connection refused" in html
    body = operator_client.get(f"/api/filing/applications/{ready_application.pk}").json()
    assert body["delivery"]["attempts"] == 3 and body["delivery"]["status"] == "pending"
    rows.update(status="failed")
    assert "已停止重试，请联系系统管理员" in page(operator_client, url)


def test_the_pager_include_keeps_the_search_and_marks_the_page() -> None:
    page_of_five = Paginator(range(200), 10).get_page(5)
    html = render_to_string(
        "consoles/_pager.html",
        {"page": page_of_five, "page_range": page_of_five.paginator.get_elided_page_range(5), "summary": "共 200 份"},
        request=RequestFactory().get("/operator/contracts/", {"q": "中山", "page": "5"}),
    )
    assert "共 200 份" in html
    assert '<span class="is-current" aria-current="page">5</span>' in html
    assert 'href="?q=%E4%B8%AD%E5%B1%B1&amp;page=4" rel="prev"' in html
    assert 'href="?q=%E4%B8%AD%E5%B1%B1&amp;page=6" rel="next"' in html
    assert "<span>…</span>" in html and 'href="?q=%E4%B8%AD%E5%B1%B1&amp;page=20"' in html
    first = Paginator(range(5), 10).get_page(1)
    alone = render_to_string(
        "consoles/_pager.html",
        {"page": first, "page_range": first.paginator.get_elided_page_range(1), "summary": ""},
        request=RequestFactory().get("/"),
    )
    assert alone.count('class="is-disabled"') == 2, "no previous or next page: both shown disabled"


def test_the_agent_id_number_is_masked_on_the_page_and_kept_when_left_blank(
    operator_client: Client, application: Application
) -> None:
    url = f"/operator/applications/{application.pk}/"
    first = application.applicants.get(position=1)
    agent_post = {
        "agent-name": "赵代理",
        "agent-id_type": "mainland_id",
        "agent-id_number": mainland_id(433),
        "agent-phone": "13600000000",
        "agent-acts_for": [str(first.pk)],
    }
    assert operator_client.post(f"{url}save/", draft_post(application, **agent_post)).status_code == 302
    shown = page(operator_client, url)
    assert mainland_id(433) not in shown
    assert mask_id_number(mainland_id(433)) in shown
    assert (
        operator_client.post(
            f"{url}save/",
            draft_post(application, **{**agent_post, "agent-id_number": "", "agent-phone": "13600000001"}),
        ).status_code
        == 302
    )
    agent = Agent.objects.get()
    assert (agent.id_number, agent.phone) == (mainland_id(433), "13600000001")
    changed = draft_post(application, **{**agent_post, "agent-id_number": mainland_id(434)})
    assert operator_client.post(f"{url}save/", changed).status_code == 302
    assert Agent.objects.get().id_number == mainland_id(434)


def test_a_refused_move_is_explained_in_the_page_language(operator_client: Client, application: Application) -> None:
    url = f"/operator/applications/{application.pk}/"
    shown = operator_client.post(f"{url}abandon/", {"version": 2}, follow=True).content.decode()
    assert "请刷新页面后再操作" in shown and "reload and try again" not in shown
    shown = operator_client.post(
        f"{url}abandon/", {"version": 2}, follow=True, HTTP_ACCEPT_LANGUAGE="en"
    ).content.decode()
    assert "reload and try again" in shown and "请刷新页面后再操作" not in shown
    application.refresh_from_db()
    assert application.status == ApplicationStatus.DRAFT


def test_an_extra_applicant_row_is_refused_or_ignored_never_a_server_error(
    operator_client: Client, application: Application
) -> None:
    url = f"/operator/applications/{application.pk}/save/"
    count = application.applicants.count()
    blank_extra = draft_post(application, **{"applicants-TOTAL_FORMS": str(count + 1)})
    assert operator_client.post(url, blank_extra).status_code == 302
    stranger = {
        f"applicants-{count}-name": "王外人",
        f"applicants-{count}-id_type": "mainland_id",
        f"applicants-{count}-id_number": mainland_id(777),
        f"applicants-{count}-phone": "13500000000",
    }
    response = operator_client.post(url, {**blank_extra, **stranger})
    assert response.status_code == 422
    assert application.applicants.count() == count


def test_the_application_page_offers_what_the_move_table_allows(
    operator_client: Client, application: Application, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Revoke and abandon buttons come from transitions.MOVES, not from statuses written again in the view."""
    from django.urls import reverse

    from ecancel.cancellation.transitions import MOVES

    revoke = reverse("operator:application_revoke", args=[application.pk])
    abandon = reverse("operator:application_abandon", args=[application.pk])
    html = page(operator_client, f"/operator/applications/{application.pk}/")
    assert abandon in html and revoke not in html
    monkeypatch.setitem(MOVES, "request_revoke", {ApplicationStatus.DRAFT: ApplicationStatus.DRAFT})
    monkeypatch.setitem(MOVES, "abandon", {})
    html = page(operator_client, f"/operator/applications/{application.pk}/")
    assert revoke in html and abandon not in html


def test_the_contract_page_offers_a_new_application_only_where_the_move_table_allows(
    operator_client: Client, contract: FiledContract, monkeypatch: pytest.MonkeyPatch
) -> None:
    from ecancel.filing.transitions import CONTRACT_MOVES

    new = f"/operator/contracts/{contract.pk}/cancellation/new/"
    assert new in page(operator_client, f"/operator/contracts/{contract.pk}/")
    monkeypatch.setitem(CONTRACT_MOVES, "start_cancellation", {})
    html = page(operator_client, f"/operator/contracts/{contract.pk}/")
    assert new not in html and "只有状态为「已备案」的合同可以申请注销。" in html
    assert '<button type="submit" class="btn">确定' not in page(operator_client, new), "nor does the confirm page"
