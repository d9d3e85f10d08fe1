"""Rendering and signing run in a nicer helper thread (``ECANCEL_SIGNING_NICENESS``), with the same results."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest
from django.test import override_settings
from django.utils import timezone, translation

from ecancel.accounts.models import Organisation
from ecancel.core.context import RequestContext
from ecancel.core.errors import ValidationFailed
from ecancel.documents.samples import SampleDocument
from ecancel.documents.services import document_issue, document_read
from ecancel.documents.slots import run_in_signing_slot, run_niced
from ecancel.documents.verification import verify_pdf

CTX = RequestContext(ip="127.0.0.1", user_agent="pytest")


def priority_of_this_thread() -> tuple[int, int]:
    thread_id = threading.get_native_id()
    return thread_id, os.getpriority(os.PRIO_PROCESS, thread_id)


def test_the_work_runs_in_a_thread_as_much_nicer_as_the_setting_says() -> None:
    caller, before = priority_of_this_thread()
    with override_settings(ECANCEL_SIGNING_NICENESS=7):
        helper, niceness = run_niced(priority_of_this_thread)
    assert helper != caller
    assert niceness == min(19, before + 7)
    assert priority_of_this_thread() == (caller, before)  # the caller keeps its priority


def test_niceness_0_runs_the_work_inline() -> None:
    with override_settings(ECANCEL_SIGNING_NICENESS=0):
        assert run_niced(priority_of_this_thread) == priority_of_this_thread()


def test_nested_work_stays_in_the_helper_thread_and_its_slot(tmp_path: Path) -> None:
    def outer_and_inner() -> tuple[int, int]:
        return threading.get_native_id(), run_in_signing_slot(threading.get_native_id)

    with override_settings(ECANCEL_SIGNING_NICENESS=5, ECANCEL_SIGNING_SLOTS=1, ECANCEL_SIGNING_SLOTS_DIR=tmp_path):
        outer, inner = run_in_signing_slot(outer_and_inner)
    assert outer == inner  # a second slot would have waited forever for the one this thread holds


def test_the_work_sees_the_callers_language() -> None:
    with override_settings(ECANCEL_SIGNING_NICENESS=10), translation.override("en"):
        assert run_niced(translation.get_language) == "en"


def test_an_exception_reaches_the_caller_as_raised() -> None:
    failure = ValidationFailed("文件无效", "invalid file")

    def fail() -> None:
        raise failure

    with override_settings(ECANCEL_SIGNING_NICENESS=10), pytest.raises(ValidationFailed) as raised:
        run_niced(fail)
    assert raised.value is failure


@pytest.mark.django_db
@pytest.mark.parametrize("niceness", [0, 10])
def test_a_document_signed_at_either_priority_verifies(
    niceness: int, samples: dict[str, SampleDocument], developer: Organisation
) -> None:
    issuer = Organisation.objects.get(pk=developer.pk)  # as a service loads it: its company row not yet read
    sample = samples["cancellation_form"]
    with override_settings(ECANCEL_SIGNING_NICENESS=niceness):
        doc = document_issue(
            kind=sample.template,
            data=sample.data,
            images=sample.images,
            issuer=issuer,
            subject_ref="application:1",
            actor=None,
            ctx=CTX,
        )
    report = verify_pdf(document_read(doc))
    assert report.valid
    assert [s.signer_organisation for s in report.signatures] == [developer.name]


@pytest.mark.django_db
def test_a_refused_document_is_refused_the_same_from_the_helper_thread(
    samples: dict[str, SampleDocument], developer: Organisation
) -> None:
    data = dict(samples["termination_agreement"].data)
    del data["refund_amount"]
    with override_settings(ECANCEL_SIGNING_NICENESS=10), pytest.raises(ValidationFailed) as refused:
        document_issue(
            kind="termination_agreement",
            data=data,
            images=samples["termination_agreement"].images,
            issuer=developer,
            subject_ref="application:9",
            actor=None,
            ctx=CTX,
        )
    assert "refund_amount" in refused.value.fields


def test_the_work_sees_the_callers_time_zone() -> None:
    with override_settings(ECANCEL_SIGNING_NICENESS=10), timezone.override("Asia/Urumqi"):
        assert str(run_niced(timezone.get_current_timezone)) == "Asia/Urumqi"
