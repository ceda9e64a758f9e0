"""Options that several commands take, declared once.

typer reads a command's options from its function's parameters and has no option groups
(fastapi/typer#153), so the same options used to be spelled out in every command that takes
them. An option group here is a frozen dataclass, a
subclass of OptionGroup, whose fields are typer-annotated parameters with defaults. A command
takes one as a parameter annotated with the group; `@with_option_groups` shows typer the
group's fields in that parameter's place (so --help lists them there, in field order) and calls
the command with one instance of the group built from them.
"""

from __future__ import annotations

import dataclasses
import functools
import inspect
import typing
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")


class OptionGroup:
    """Base of the option groups: frozen dataclasses whose fields are command options."""

    __slots__ = ()


def with_option_groups(command: Callable[..., T]) -> Callable[..., T]:
    """`command` as typer should see it: each parameter annotated with an OptionGroup replaced
    by the group's fields (keyword-only, so the group's parameter must follow the command's
    arguments)."""
    signature = inspect.signature(command, eval_str=True)
    groups: dict[str, tuple[type[OptionGroup], tuple[str, ...]]] = {}
    parameters: list[inspect.Parameter] = []
    for parameter in signature.parameters.values():
        group = parameter.annotation
        if not (isinstance(group, type) and issubclass(group, OptionGroup)):
            parameters.append(parameter)
            continue
        if not dataclasses.is_dataclass(group):
            raise TypeError(f"{group.__qualname__} must be a dataclass")
        hints = typing.get_type_hints(group, include_extras=True)
        fields = dataclasses.fields(group)
        groups[parameter.name] = (group, tuple(field.name for field in fields))
        parameters.extend(
            inspect.Parameter(
                field.name,
                inspect.Parameter.KEYWORD_ONLY,
                default=field.default,
                annotation=hints[field.name],
            )
            for field in fields
        )
    if not groups:
        raise TypeError(f"{command.__qualname__} takes no OptionGroup")

    @functools.wraps(command)
    def grouped(**values: Any) -> T:
        # typer passes every parameter by name.
        for name, (group, fields) in groups.items():
            values[name] = group(**{field: values.pop(field) for field in fields})
        return command(**values)

    # What typer reads (inspect.signature honours __signature__; the annotations are resolved
    # already, so typing.get_type_hints needs no module to look names up in).
    expanded = signature.replace(parameters=parameters)
    grouped.__signature__ = expanded  # type: ignore[attr-defined]
    grouped.__annotations__ = {p.name: p.annotation for p in parameters} | {
        "return": signature.return_annotation
    }
    return grouped
