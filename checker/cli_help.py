"""Help that reads as prose: values named in words (URL, FILE, DIR, SECONDS), never as Python types.

Typer shows each parameter's Python type (`<str>`, `<bool>`, `<list[Path]>`, `<int range>`) and wraps required
arguments in braces (`{url}`). The command and group classes here show instead: an option's metavar (every option
that takes a value names one), nothing for a flag, the choices of a choice, an argument's metavar alone, and ranges
in words ("1 to 50").
"""

from __future__ import annotations

from typing import Any

from typer.core import TyperArgument, TyperCommand, TyperGroup, TyperOption


def _range_in_words(low: float | None, high: float | None) -> str | None:
    if low is None and high is None:
        return None
    if low is None:
        return f"at most {high:g}"
    if high is None:
        return f"at least {low:g}"
    return f"{low:g} to {high:g}"


class _PlainArgument(TyperArgument):
    def display_type_rich(self, ctx: Any) -> str | None:
        return None  # the metavar (URL, FILE) in the name column says what it is

    def get_usage_pieces(self, ctx: Any) -> list[str]:
        if self.hidden:
            return []
        name = self.display_name_raw + ("..." if self.nargs != 1 else "")
        return [name if self.required else f"[{name}]"]

    def _get_number_range_help_str(self) -> str | None:
        return _range_in_words(self.min, self.max)


class _PlainOption(TyperOption):
    def display_type_rich(self, ctx: Any) -> str | None:
        if self.metavar is not None:
            return self.metavar
        if self.is_flag or self.count:
            return None
        if self.type_descriptor.is_choice:
            return "|".join(str(getattr(choice, "value", choice)) for choice in self.type_descriptor.choices or ())
        return self.name.upper() if self.name else None

    def _get_number_range_help_str(self) -> str | None:
        return _range_in_words(self.min, self.max)


_PLAIN = {TyperArgument: _PlainArgument, TyperOption: _PlainOption}


def _plain(params: list[Any]) -> list[Any]:
    for param in params:
        if type(param) in _PLAIN:  # the same object, shown differently: no state is added
            param.__class__ = _PLAIN[type(param)]
    return params


class PlainCommand(TyperCommand):
    def get_params(self, ctx: Any) -> list[Any]:  # with the help option, made when first asked for
        return _plain(super().get_params(ctx))


class PlainGroup(TyperGroup):
    def get_params(self, ctx: Any) -> list[Any]:  # with the completion and help options
        return _plain(super().get_params(ctx))
