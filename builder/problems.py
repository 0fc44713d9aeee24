"""Every problem in a file at once: each names the file and the dotted key, so a user
fixes a recipe, an image definition or a policy in one pass, not one error per run."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, TypeVar

from builder.errors import BuilderError, RecipeError

T = TypeVar("T")


def choice(value: object, choices: tuple[T, ...]) -> T | None:
    """`value` as the one of `choices` it equals (typed as they are), else None."""
    return next((c for c in choices if c == value), None)


class Problems:
    """Collects every problem in one file, each prefixed with the file and key."""

    def __init__(
        self,
        path: Path | str,
        hint: str = "docs/recipes.md lists every key of a recipe",
        error: type[BuilderError] = RecipeError,
    ) -> None:
        self.path = path
        self.hint = hint
        self.error = error
        self.items: list[str] = []

    def add(self, key: str, message: str) -> None:
        self.items.append(f"{self.path}: {key}: {message}")

    def raise_if_any(self) -> None:
        if self.items:
            count = len(self.items)
            head = f"{self.path}: {count} problem{'s' if count > 1 else ''}"
            raise self.error("\n".join([head, *self.items]), hint=self.hint)


def table(
    data: Mapping[str, Any], key: str, allowed: set[str], problems: Problems, prefix: str = ""
) -> Mapping[str, Any]:
    return table_value(data.get(key, {}), f"{prefix}{key}", allowed, problems)


def table_value(
    value: Any, dotted: str, allowed: set[str], problems: Problems
) -> Mapping[str, Any]:
    """`value` as a table of the `allowed` keys; {} after a problem."""
    if not isinstance(value, Mapping):
        problems.add(dotted, f"expected a table, got {type(value).__name__}")
        return {}
    for unknown in sorted(set(value) - allowed):
        problems.add(f"{dotted}.{unknown}", f"unknown key (allowed: {', '.join(sorted(allowed))})")
    return value


def required_str(
    data: Mapping[str, Any],
    key: str,
    dotted: str,
    problems: Problems,
    check: Callable[[str], str | None] | None = None,
) -> str:
    value = data.get(key)
    if value is None:
        problems.add(dotted, "missing")
        return ""
    if not isinstance(value, str) or not value:
        problems.add(dotted, f"expected a non-empty string, got {value!r}")
        return ""
    if check is not None and (why := check(value)) is not None:
        problems.add(dotted, why)
    return value


def reasons(value: Any, array: str, key: str, problems: Problems) -> dict[str, str]:
    """An array of tables `{ KEY = "...", reason = "..." }` (an accepted advisory, an
    accepted pickle): KEY -> reason, each reason required."""
    if not isinstance(value, list):
        problems.add(array, f"expected an array of tables with {key} and reason")
        return {}
    found = {}
    for i, entry in enumerate(value):
        where = f"{array}[{i}]"
        if not isinstance(entry, Mapping) or set(entry) - {key, "reason"}:
            problems.add(where, f"expected a table with exactly {key} and reason")
            continue
        name = required_str(entry, key, f"{where}.{key}", problems)
        reason = required_str(entry, "reason", f"{where}.reason", problems)
        if name and reason.strip():
            found[name] = reason
        elif name and reason:
            problems.add(f"{where}.reason", f"say why {name} is accepted")
    return found
