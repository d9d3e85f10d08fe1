"""The application page as a product: one form that drops nothing, live status, honest feedback, plain wording."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from typing import Any

from django.test import Client

from ecancel.accounts.actors import Actor
from ecancel.accounts.models import Organisation, Role
from ecancel.cancellation.models import Agent, Application
from ecancel.cancellation.services.push import application_push
from ecancel.cancellation.services.revoke import application_revoke
from ecancel.cancellation.transitions import ApplicationStatus
from ecancel.consoles.templatetags.consoles import readable_change, short_hash, yuan
from ecancel.core.context import RequestContext
from ecancel.identity.masking import mask_phone
from tests.cancellation.conftest import accepted_body, answer_body, notary_says
from tests.cancellation.test_pages import draft_post, page
from tests.conftest import logged_in_client
from tests.factories import UserFactory, mainland_id


class FormReader(HTMLParser):
    """What a browser would send for one form of a page, read from its HTML (no JavaScript)."""

    def __init__(self, form_id: str) -> None:
        super().__init__()
        self.form_id, self.inside, self.select, self.textarea = form_id, False, "", ""
        self.first_option: str | None = None
        self.action = ""
        self.data: dict[str, list[str]] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form" and a.get("id") == self.form_id:
            self.inside, self.action = True, a["action"]
        if not self.inside:
            return
        name = a.get("name", "")
        if tag == "input" and name and a.get("type") != "file":
            if a.get("type") in ("radio", "checkbox") and "checked" not in a:
                return
            self.data.setdefault(name, []).append(a.get("value", ""))
        elif tag == "select":
            self.select, self.first_option = name, None
            self.data.setdefault(name, [])
        elif tag == "option" and self.select:
            if self.first_option is None:
                self.first_option = a.get("value", "")
            if "selected" in a:
                self.data[self.select].append(a.get("value", ""))
        elif tag == "textarea":
            self.textarea = name
            self.data[name] = [""]

    def handle_data(self, data: str) -> None:
        if self.textarea:
            self.data[self.textarea][0] += data

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self.inside = False
        elif tag == "select":
            if not self.data[self.select] and self.first_option is not None:
                # A browser sends a select's first option when none is marked selected.
                self.data[self.select].append(self.first_option)
            self.select = ""
        elif tag == "textarea":
            self.textarea = ""


def read_form(html: str, form_id: str) -> tuple[str, dict[str, Any]]:
    reader = FormReader(form_id)
    reader.feed(html)
    return reader.action, {k: v if len(v) > 1 else (v[0] if v else "") for k, v in reader.data.items()}


AT = "2026-03-01T08:00:00+00:00"


def pushed(application: Application, office: Organisation, actor: Actor, ctx: RequestContext) -> Application:
    return application_push(application_id=application.pk, notary_office_id=office.pk, actor=actor, ctx=ctx)


# --- item 2: no lost input ---------------------------------------------------------------------------------


def test_the_operator_fills_the_page_top_to_bottom_and_one_save_keeps_everything(
    operator_client: Client, application: Application, notary_office: Organisation
) -> None:
    url = f"/operator/applications/{application.pk}/"
    html = page(operator_client, url)
    # One form: a single save button for every section, and no section posting on its own.
    form = html.split('id="draft-form"')[1].split("</form>")[0]
    assert form.count('type="submit"') == 1
    for section in ('id="reason"', 'id="refund"', 'id="applicants"', 'id="agent"', 'id="notary-office"'):
        assert section in form
    first = application.applicants.get(position=1)
    # What the page sends back untouched, then every section filled in from top to bottom.
    action, data = read_form(html, "draft-form")
    assert action == f"{url}save/" and data["applicants-0-name"] == first.name
    data.update(
        {
            "reason": "other",
            "detail": "买受人工作调动",
            "refund_amount": "100000.00",
            "refund_days": "15",
            "applicants-0-phone": "13900001111",
            "applicants-1-address": "广州市天河区体育西路1号",
            "agent-name": "赵代理",
            "agent-id_number": mainland_id(432),
            "agent-phone": "13600000000",
            "agent-acts_for": [str(first.pk)],
            "notary_office": str(notary_office.pk),
        }
    )
    response = operator_client.post(action, data)
    assert response.status_code == 302
    application.refresh_from_db()
    assert (application.reason, application.reason_detail) == ("other", "买受人工作调动")
    assert (str(application.refund_amount), application.refund_days) == ("100000.00", 15)
    assert application.notary_office_id == notary_office.pk
    assert application.applicants.get(position=1).phone == "13900001111"
    assert application.applicants.get(position=2).address == "广州市天河区体育西路1号"
    assert Agent.objects.get(application=application).name == "赵代理"


def test_a_reason_ticked_beside_a_wrong_applicant_is_saved_and_the_wrong_input_is_kept(
    operator_client: Client, application: Application
) -> None:
    url = f"/operator/applications/{application.pk}/"
    data = draft_post(application, reason="loan_refused", **{"applicants-0-phone": "12"})
    response = operator_client.post(f"{url}save/", data)
    assert response.status_code == 422
    html = response.content.decode()
    assert "联系电话格式不正确" in html
    assert 'value="12"' in html, "the wrong phone stays in the field to be corrected"
    assert 'data-dirty="1"' in html, "unsaved input on the page: leaving it asks first"
    application.refresh_from_db()
    assert application.reason == "loan_refused", "the valid section is saved, not dropped"


def test_an_untouched_page_saved_makes_no_change_events(operator_client: Client, application: Application) -> None:
    from ecancel.audit.models import AuditEvent

    url = f"/operator/applications/{application.pk}/save/"
    before = AuditEvent.objects.count()
    assert operator_client.post(url, draft_post(application)).status_code == 302
    assert AuditEvent.objects.count() == before
    first = application.applicants.get(position=1)
    agent = {
        "agent-name": "赵代理",
        "agent-id_number": mainland_id(432),
        "agent-phone": "13600000000",
        "agent-acts_for": [str(first.pk)],
    }
    assert operator_client.post(url, draft_post(application, **agent)).status_code == 302
    before = AuditEvent.objects.count()
    # As the page sends it back: the saved agent's ID number is never on the page, so it comes back blank.
    assert operator_client.post(url, draft_post(application, **{**agent, "agent-id_number": ""})).status_code == 302
    assert AuditEvent.objects.count() == before


# --- item 4: errors say what is wrong ----------------------------------------------------------------------


def test_a_passport_chosen_for_a_mainland_buyer_says_the_id_type_does_not_match(
    operator_client: Client, application: Application
) -> None:
    url = f"/operator/applications/{application.pk}/"
    response = operator_client.post(f"{url}save/", draft_post(application, **{"applicants-0-id_type": "passport"}))
    assert response.status_code == 422
    html = response.content.decode()
    assert "证件类型「护照」与备案合同登记的「居民身份证」不一致" in html
    assert "不是本合同的买受人" not in html


def test_forms_leave_required_fields_to_the_server_messages(operator_client: Client, application: Application) -> None:
    html = page(operator_client, f"/operator/applications/{application.pk}/")
    forms = re.findall(r"<form[^>]*>", html)
    posting = [f for f in forms if 'method="post"' in f and "lang-switch" not in f and "logout" not in f]
    assert posting and all("novalidate" in f for f in posting)
    response = operator_client.post(
        f"/operator/applications/{application.pk}/save/", draft_post(application, refund_method="")
    )
    assert response.status_code == 422
    assert "这个字段是必填项。" in response.content.decode()


# --- item 3: long actions and destructive ones -------------------------------------------------------------


def test_back_to_the_push_page_after_pushing_goes_to_the_application(
    operator_client: Client,
    ready_application: Application,
    notary_office: Organisation,
    actor: Actor,
    ctx: RequestContext,
) -> None:
    url = f"/operator/applications/{ready_application.pk}/"
    html = page(operator_client, f"{url}push/")
    assert "data-busy-form" in html and "正在生成、签章并推送" in html
    stale_page = draft_post(ready_application, reason="loan_refused")
    pushed(ready_application, notary_office, actor, ctx)
    response = operator_client.post(f"{url}save/", stale_page, follow=True)
    assert "申请已推送，不能再修改" in response.content.decode()
    ready_application.refresh_from_db()
    assert ready_application.reason == "mutual_agreement"
    response = operator_client.get(f"{url}push/")
    assert response.status_code == 302 and response["Location"] == url
    assert operator_client.get(f"{url}abandon/")["Location"] == url


def test_removing_the_agent_asks_first(operator_client: Client, application: Application) -> None:
    url = f"/operator/applications/{application.pk}/"
    first = application.applicants.get(position=1)
    agent = {
        "agent-name": "赵代理",
        "agent-id_number": mainland_id(432),
        "agent-phone": "13600000000",
        "agent-acts_for": [str(first.pk)],
    }
    assert operator_client.post(f"{url}save/", draft_post(application, **agent)).status_code == 302
    assert f'href="{url}agent/remove/"' in page(operator_client, url)
    confirm = page(operator_client, f"{url}agent/remove/")
    assert "赵代理" in confirm and "确定删除" in confirm
    assert Agent.objects.filter(application=application).exists(), "looking at the question removes nothing"
    assert operator_client.post(f"{url}agent/remove/").status_code == 302
    assert not Agent.objects.filter(application=application).exists()
    assert operator_client.get(f"{url}agent/remove/")["Location"] == url


# --- item 1: live status -----------------------------------------------------------------------------------


def test_the_qr_appears_by_polling_once_the_notary_office_accepts(
    operator_client: Client,
    ready_application: Application,
    notary_office: Organisation,
    developer: Organisation,
    actor: Actor,
    ctx: RequestContext,
) -> None:
    application = pushed(ready_application, notary_office, actor, ctx)
    url = f"/operator/applications/{application.pk}/"
    html = page(operator_client, url)
    assert f'hx-get="{url}status/"' in html and 'hx-trigger="every 5s"' in html
    assert "刚刚更新" in html
    fragment = page(operator_client, f"{url}status/")
    assert "<svg" not in fragment and "正在等待公证处受理" in fragment
    body = accepted_body(application)
    notary_says(notary_office, developer, "case.accepted", body)
    fragment = page(operator_client, f"{url}status/")
    assert "<svg" in fragment and body["handoff_url"] in fragment and "待买受人认证" in fragment
    assert f'hx-get="{url}status/"' in fragment, "buyers may still move it: polling goes on"
    assert "复制链接" in fragment and "data-copy-failed" in fragment


def test_a_refusal_shows_by_polling_and_the_page_reloads_into_its_forms(
    operator_client: Client,
    ready_application: Application,
    notary_office: Organisation,
    developer: Organisation,
    actor: Actor,
    ctx: RequestContext,
) -> None:
    application = pushed(ready_application, notary_office, actor, ctx)
    url = f"/operator/applications/{application.pk}/status/"
    notary_says(notary_office, developer, "case.accepted", accepted_body(application))
    application_revoke(application_id=application.pk, expected_version=1, reason="电话有误", actor=actor, ctx=ctx)
    assert "正在等待公证处确认" in page(operator_client, url)
    notary_says(
        notary_office,
        developer,
        "revoke.refused",
        answer_body(application, reason="买受人已开始认证", refused_at=AT),
    )
    application.refresh_from_db()
    fragment = page(operator_client, url)
    assert "公证处未同意撤销" in fragment and "买受人已开始认证" in fragment
    notary_says(notary_office, developer, "case.refused", answer_body(application, reason="材料不全", refused_at=AT))
    response = operator_client.get(url, headers={"HX-Request": "true"})
    assert response.status_code == 204 and response["HX-Refresh"] == "true"


def test_a_draft_and_a_closed_application_are_not_polled(operator_client: Client, application: Application) -> None:
    url = f"/operator/applications/{application.pk}/"
    assert "hx-trigger" not in page(operator_client, url).split('id="application-live"')[1].split(">")[0]
    Application.objects.filter(pk=application.pk).update(status=ApplicationStatus.ABANDONED)
    assert "hx-trigger" not in page(operator_client, url).split('id="application-live"')[1].split(">")[0]


def test_another_companys_status_fragment_is_404(application: Application, other_developer: Organisation) -> None:
    stranger = logged_in_client(UserFactory(organisation=other_developer, role=Role.OPERATOR))
    assert stranger.get(f"/operator/applications/{application.pk}/status/").status_code == 404


# --- item 5: one presentation ------------------------------------------------------------------------------


def test_the_change_list_masks_phones_and_names_a_replaced_power_of_attorney() -> None:
    phone = readable_change(
        {"field": "applicants.1.phone", "label": "申请人1联系电话", "before": "13512345678", "after": "13900001111"}
    )
    assert (phone["before"], phone["after"]) == (mask_phone("13512345678"), mask_phone("13900001111"))
    replaced = readable_change(
        {"field": "agent.power_of_attorney", "label": "授权委托书", "before": "SHA-256 ab12…", "after": "SHA-256 cd34…"}
    )
    assert replaced["after"] == "授权委托书已更换" and "SHA" not in replaced["before"]
    refund = readable_change(
        {"field": "refund_amount", "label": "退还款项", "before": "1,000.00元", "after": "2,500.50元"}
    )
    assert (refund["before"], refund["after"]) == ("1,000.00 元", "2,500.50 元")


def test_the_page_change_list_shows_no_full_phone(
    operator_client: Client,
    ready_application: Application,
    notary_office: Organisation,
    developer: Organisation,
    actor: Actor,
    ctx: RequestContext,
) -> None:
    application = pushed(ready_application, notary_office, actor, ctx)
    notary_says(notary_office, developer, "case.refused", answer_body(application, reason="电话有误", refused_at=AT))
    url = f"/operator/applications/{application.pk}/"
    data = draft_post(application, **{"applicants-0-phone": "13911112222"})
    assert operator_client.post(f"{url}save/", data).status_code == 302
    changes = page(operator_client, url).split("与上次推送相比的修改")[1].split("</table>")[0]
    assert "13911112222" not in changes and mask_phone("13911112222") in changes


def test_amounts_and_hashes_look_the_same_on_both_sides() -> None:
    assert yuan("2108896") == "2,108,896.00 元"
    digest = "a" * 64
    shown = str(short_hash(digest))
    assert "aaaaaaaaaaaa…" in shown and f'title="{digest}"' in shown and "<details" in shown


# --- item 10: constant queries (the time is measured by benchmarks/pages.py) --------------------------------


def _queries(client: Client, url: str) -> int:
    from django.db import connection

    seen: list[str] = []
    with connection.execute_wrapper(lambda execute, sql, *args: seen.append(sql) or execute(sql, *args)):
        assert client.get(url).status_code == 200
    return len(seen)


def test_the_application_page_and_its_live_part_do_not_grow_with_pushes_or_buyers(
    operator_client: Client,
    developer: Organisation,
    notary_office: Organisation,
    actor: Actor,
    ctx: RequestContext,
) -> None:
    from ecancel.cancellation.services.drafting import application_create, application_set_reason
    from tests.factories import contract_with_buyers

    def refused_and_pushed_again(buyers: int, pushes: int) -> Application:
        contract = contract_with_buyers(buyers, seller=developer)
        application = application_create(contract_id=contract.pk, actor=actor, ctx=ctx)
        application_set_reason(application_id=application.pk, reason="mutual_agreement", actor=actor, ctx=ctx)
        for _ in range(pushes):
            application = pushed(application, notary_office, actor, ctx)
            notary_says(notary_office, developer, "case.accepted", accepted_body(application, case_no=f"(2026)第{_}号"))
            notary_says(
                notary_office, developer, "case.refused", answer_body(application, reason="补正", refused_at=AT)
            )
            application.refresh_from_db()
        return application

    small, large = refused_and_pushed_again(2, 1), refused_and_pushed_again(4, 2)
    for suffix in ("", "status/"):
        assert _queries(operator_client, f"/operator/applications/{small.pk}/{suffix}") == _queries(
            operator_client, f"/operator/applications/{large.pk}/{suffix}"
        ), suffix


def test_a_buyer_left_out_of_the_applicants_is_named_on_the_page(
    operator_client: Client, application: Application
) -> None:
    data = draft_post(application, **{"applicants-TOTAL_FORMS": "1"})
    response = operator_client.post(f"/operator/applications/{application.pk}/save/", data)
    assert response.status_code == 422
    missing = application.applicants.get(position=2).name
    assert f"合同买受人「{missing}」未列为申请人" in response.content.decode()
