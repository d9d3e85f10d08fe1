from __future__ import annotations

import pytest

from ecancel.accounts.models import Organisation
from ecancel.accounts.services import api_token_create
from ecancel.core.context import RequestContext


@pytest.fixture
def developer_token(developer: Organisation) -> str:
    """A live API token of the developer company, as its raw bearer value."""
    _, raw = api_token_create(organisation=developer, name="ERP 对接", actor=None, ctx=RequestContext.system())
    return raw


@pytest.fixture
def other_developer_token(other_developer: Organisation) -> str:
    _, raw = api_token_create(organisation=other_developer, name="ERP", actor=None, ctx=RequestContext.system())
    return raw
