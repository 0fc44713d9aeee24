"""Property-based: whatever recipe TOML or command line a user writes, builder answers with
one of its documented exit codes and never a traceback or an "internal error". Only
commands that need no network, backend or image are drawn: every mistake they can make
must be found before any of those would be touched."""

from __future__ import annotations

import string
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from builder.cli import main
from builder.errors import exit_codes

DOCUMENTED = {code for code, _, _ in exit_codes()}
SETTINGS = settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)

# TOML values of every kind, bad ones included: what a typo or a confusion gives.
SCALARS = st.one_of(
    st.integers(min_value=-(10**30), max_value=10**30),
    st.floats(allow_nan=True, allow_infinity=True),
    st.booleans(),
    st.text(alphabet=string.printable + "\u00e9\u0000", max_size=12),
)
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(st.sampled_from("ab=."), inner, max_size=2)
    ),
    max_leaves=5,
)
KEYS = {
    "package": ["name", "version"],
    "sdist": ["file", "sha256", "index"],
    "build": ["image", "requires", "env", "source-date-epoch", "repair", "extra-packages",
              "compiled", "config-settings"],
    "limits": ["memory_mib", "pids", "cpus", "timeout_s", "tmpfs_mib", "out_mib", "unpack_mib"],
    "rebuild": ["fixed", "also", "reason"],
}  # fmt: skip
GOOD = {
    "package": {"name": "p", "version": "1.0"},
    "sdist": {"file": "p-1.0.tar.gz", "sha256": "0" * 64},
    "build": {"image": "trixie-py"},
}


def _toml_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return {"nan": "nan", "inf": "inf", "-inf": "-inf"}.get(str(value), repr(value))
    if isinstance(value, str):
        return '"' + "".join(c if c.isprintable() and c not in '"\\' else
                             f"\\u{ord(c):04x}" for c in value) + '"'  # fmt: skip
    if isinstance(value, list):
        return "[" + ", ".join(map(_toml_value, value)) + "]"
    assert isinstance(value, dict)
    return "{" + ", ".join(f'"{k}" = {_toml_value(v)}' for k, v in value.items()) + "}"


def _recipe_text(tables: dict[str, dict[str, object]]) -> str:
    return "".join(
        f"[{name}]\n" + "".join(f'"{k}" = {_toml_value(v)}\n' for k, v in table.items())
        for name, table in tables.items()
    )


@st.composite
def recipes(draw: st.DrawFn) -> str:
    """A good recipe with some of its keys given values of any kind, and at times a key
    or a table it does not know."""
    tables = {name: dict(table) for name, table in GOOD.items()}
    for _ in range(draw(st.integers(min_value=1, max_value=4))):
        table = draw(st.sampled_from(sorted(KEYS)))
        key = draw(st.one_of(st.sampled_from(KEYS[table]), st.text(min_size=1, max_size=5)))
        tables.setdefault(table, {})[key] = draw(VALUES)
    return _recipe_text(tables)


def _no_traceback(code: object, err: str) -> None:
    assert isinstance(code, int) and code in DOCUMENTED, err
    assert "Traceback" not in err and "internal error" not in err, err


@SETTINGS
@given(text=recipes())
def test_recipe_check_of_any_recipe_says_a_documented_code_and_no_traceback(
    text: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    recipe = tmp_path / "fuzzed.toml"
    recipe.write_text(text, encoding="utf-8")
    code = main(["recipe", "check", str(recipe)])
    _no_traceback(code, capsys.readouterr().err)
    assert code in (0, 3)


WORDS = st.one_of(
    st.sampled_from(["--store", "--store=", "--json", "--name", "--offline", "--policy",
                     "--dist", "--output", "--force", "--repair", "--key", "-v", "-q",
                     "{file}", "{dir}", "{missing}", "", "!!!", "a==", "==1", "x" * 300]),
    st.text(alphabet=string.ascii_letters + string.digits + "-=./_!:", max_size=10),
)  # fmt: skip
COMMANDS = [["recipe", "check"], ["check", "--offline"], ["diff"], ["store", "verify"],
            ["report"], ["key", "show"], ["names", "show"], ["advisories", "show"]]  # fmt: skip


@SETTINGS
@given(command=st.sampled_from(COMMANDS), words=st.lists(WORDS, max_size=5))
def test_any_command_line_says_a_documented_code_and_no_traceback(
    command: list[str],
    words: list[str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("BUILDER_STORE", str(tmp_path / "store"))
    (tmp_path / "file").write_text("[package]\nname =", encoding="utf-8")
    places = {"file": str(tmp_path / "file"), "dir": str(tmp_path),
              "missing": str(tmp_path / "missing")}  # fmt: skip
    argv = [*command, *(w.format(**places) if w.startswith("{") else w for w in words)]
    try:
        code = main(argv)
    except SystemExit as exc:  # argparse's --help exits 0 by SystemExit inside main's caller
        code = exc.code
    err = capsys.readouterr().err
    if "-v" in argv or "--verbose" in argv:
        err = err.split("Traceback")[0]  # asked for
    _no_traceback(code, err)
