from __future__ import annotations

import pytest

from ecancel.accounts.models import NotaryOffice
from ecancel.buyers.services import IssuedHandoff, handoff_issue
from ecancel.core.context import RequestContext
from tests.factories import DeveloperFactory, NotaryOfficeFactory
from tests.notary.helpers import make_case


@pytest.fixture
def office(db: None) -> NotaryOffice:
    return NotaryOfficeFactory(handoff_days=7)


@pytest.fixture
def handoff(office: NotaryOffice) -> IssuedHandoff:
    case = make_case(office, DeveloperFactory().organisation)
    return handoff_issue(case=case, actor=None, ctx=RequestContext.system("test"))
