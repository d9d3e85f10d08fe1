"""The one loader behind every adapter setting: short names, dotted paths, and a clear refusal naming the setting."""

from __future__ import annotations

from typing import Protocol

import pytest
from django.core.exceptions import ImproperlyConfigured
from pytest_django import Settings

from ecancel.core.backends import backend_class, load, protocol_members


class Greeter(Protocol):
    language: str

    def greet(self, name: str) -> str: ...


class Chinese:
    def __init__(self, polite: bool = False) -> None:
        self.language = "zh-hans"
        self.polite = polite

    def greet(self, name: str) -> str:
        return f"{name}，您好" if self.polite else f"{name}，你好"


class Mute:
    """Has the method but not the data member."""

    def greet(self, name: str) -> str:
        return ""


class Rude:
    language = "en"


SHORT_NAMES = {"zh": f"{__name__}.Chinese"}


def test_the_protocol_names_its_methods_and_data() -> None:
    assert protocol_members(Greeter) == (["greet"], ["language"])


def test_a_short_name_or_a_dotted_path_makes_the_backend(settings: Settings) -> None:
    settings.ECANCEL_GREETER = "zh"
    greeter = load("ECANCEL_GREETER", Greeter, short_names=SHORT_NAMES, polite=True)
    assert isinstance(greeter, Chinese) and greeter.greet("王女士") == "王女士，您好"
    assert backend_class("ECANCEL_GREETER", Greeter, value=f"{__name__}.Chinese") is Chinese


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("fr", "cannot import the backend 'fr' (fr doesn't look like a module path; short names: zh)"),
        (f"{__name__}.Nobody", "cannot import the backend"),
        (f"{__name__}.SHORT_NAMES", "is not a class"),
        (f"{__name__}.Rude", "is not a Greeter backend (missing greet)"),
        (f"{__name__}.Mute", "is not a Greeter backend (missing language)"),
    ],
)
def test_a_wrong_value_is_refused_naming_the_setting(settings: Settings, value: str, problem: str) -> None:
    settings.ECANCEL_GREETER = value
    with pytest.raises(ImproperlyConfigured) as wrong:
        load("ECANCEL_GREETER", Greeter, short_names=SHORT_NAMES)
    assert str(wrong.value).startswith(f"ECANCEL_GREETER={value!r}: ")
    assert " / " in str(wrong.value) and problem in str(wrong.value)
