"""The CLI's error contract, over bad invocations of every command: main() returns an
int, says `error:` and `hint:`, exits with the documented code, and shows no traceback
(unless -v). Nothing here needs a backend, a network or an image: every mistake is found
before any of them is touched."""

from __future__ import annotations

from pathlib import Path

import pytest

from builder.cli import main
from builder.provenance.signing import new_key
from tests.unit.test_diff import BASE, make_wheel

GOOD_RECIPE = """\
[package]
name = "p"
version = "1.0"

[sdist]
file = "p-1.0.tar.gz"
sha256 = "{zeros}"

[build]
image = "trixie-py"
""".replace("{zeros}", "0" * 64)


@pytest.fixture
def files(tmp_path: Path) -> dict[str, str]:
    """Real files, good and bad, that the invocations name."""
    written = {
        "good": GOOD_RECIPE,
        "three": GOOD_RECIPE.replace('version = "1.0"', 'version = "three"'),
        "broken": "[package\nname =",
        "garbage_pem": "not a key",
        "garbage_jsonl": "{not json",
        "garbage_pub": '{"keytype": "nonsense"}',
        "not_a_wheel": "PK not really",
        "another": "also not",
        "policy_missing_list": '[typosquat]\npopular = "no-such-list.txt"\n',
        "bad_policy": "[verify]\nreproducible = 7\nunknown = 1\n",
        "a_file": "",
        "requirements": "acme\n",
        "cpus_nan": GOOD_RECIPE + "\n[limits]\ncpus = nan\n",
        "cpus_huge": GOOD_RECIPE + "\n[limits]\ncpus = 1e308\n",
        "memory_huge": GOOD_RECIPE + "\n[limits]\nmemory_mib = " + "1" + "0" * 26 + "\n",
        "env_equals": GOOD_RECIPE + '\n[build.env]\n"A=B" = "1"\n',
        "env_nul": GOOD_RECIPE.replace(
            'image = "trixie-py"', 'image = "trixie-py"\nenv = { A = "x\\u0000y" }'
        ),
        "patch_missing": GOOD_RECIPE
        + f'\n[[patches]]\nfile = "fix.patch"\nsha256 = "{"0" * 64}"\n',
        "string_deps": '[project]\nname = "a"\nversion = "1"\ndependencies = "requests"\n',
        "graph": '{"graph_version": 1, "image": "trixie-py", "requirements": [], "nodes": [], '
        '"edges": [], "order": []}',
    }
    made = {}
    for name, text in written.items():
        (tmp_path / name).write_text(text)
        made[name] = str(tmp_path / name)
    made["wheel"] = str(make_wheel(tmp_path / "pkg-1.0-py3-none-any.whl", BASE))
    pair = new_key(tmp_path / "keys" / "k.pem")
    made["key"], made["pub"] = str(pair.private), str(pair.public)
    made["dir"] = str(tmp_path)
    (tmp_path / "foreign").mkdir()
    (tmp_path / "foreign" / "notes.txt").write_text("mine")
    made["foreign"] = str(tmp_path / "foreign")
    made["missing"] = str(tmp_path / "missing.toml")
    return made


# (what is wrong, the command line with {file} placeholders, the documented exit code)
CASES = [
    ("no command", "", 2),
    ("unknown command", "no-such-command", 2),
    ("unknown option", "build {good} --no-such-option", 2),
    ("build without a recipe", "build", 2),
    ("build a recipe that does not exist", "build {missing}", 2),
    ("build a folder", "build {dir}", 2),
    ("a version that is not PEP 440", "build {three}", 3),
    ("a recipe that is not TOML", "build {broken}", 3),
    ("an unknown variation", "build {good} --vary bogus", 2),
    ("a negative rebuild count", "build {good} --rebuilds -1", 2),
    ("an unknown backend", "build {good} --backend nope", 2),
    ("a signing key that does not exist", "build {good} --key {missing}", 2),
    ("a signing key that is not one", "build {good} --key {garbage_pem}", 11),
    ("check with nothing to check", "check", 2),
    ("check a file that does not exist", "check {missing}", 2),
    ("a policy naming a missing list", "check --name requests --policy {policy_missing_list}", 3),
    ("diff with one wheel", "diff {wheel}", 2),
    ("diff a wheel that does not exist", "diff {wheel} {missing}", 2),
    ("diff files that are not wheels", "diff {not_a_wheel} {another}", 5),
    ("compare without what to compare with", "compare {good}", 2),
    ("verify a wheel that does not exist", "verify {missing} --key {pub}", 2),
    ("verify without a key", "verify {wheel}", 2),
    ("verify with a key that is not one", "verify {wheel} --key {garbage_pub}", 11),
    ("an attestation that is not JSON",
     "verify {wheel} --key {pub} --attestation {garbage_jsonl}", 12),
    ("verify with no attestation anywhere", "verify {wheel} --key {pub}", 12),
    ("a policy with bad keys",
     "verify {wheel} --key {pub} --attestation {garbage_jsonl} --policy {bad_policy}", 3),
    ("rebuild from an attestation that does not exist", "rebuild --from {missing}", 2),
    ("rebuild from an attestation that is not JSON", "rebuild --from {garbage_jsonl}", 12),
    ("recipe check of a file that does not exist", "recipe check {missing}", 2),
    ("recipe check of a bad recipe", "recipe check {three}", 3),
    ("recipe new without a pin", "recipe new requests", 3),
    ("recipe new of something that is no requirement", "recipe new !!", 3),
    ("key new over an existing key", "key new {key}", 11),
    ("a store that is a file", "store verify --store {a_file}", 2),
    ("store verify of a store that does not exist", "store verify --store {missing}", 2),
    ("an empty store path", "build {good} --store=", 2),
    ("--dist naming a file", "build {good} --dist {a_file}", 2),
    ("--attestations naming a file", "build {good} --attestations {a_file}", 2),
    ("publish --to naming a file", "publish {wheel} --to {a_file} --key {pub}", 2),
    ("report --output naming a file", "report --dist {dir} --output {a_file}", 2),
    ("report --output naming a folder builder did not make",
     "report --dist {dir} --output {foreign}", 2),
    ("--rebuild-on without a cluster", "build {good} --rebuild-on other-worker", 2),
    ("key new naming a folder", "key new {dir} --force", 11),
    ("a worker given no address", "worker notanaddress", 2),
    ("a worker whose scheduler does not answer", "worker tcp://127.0.0.1:1", 16),
    ("check a name that is none", "check --name !!!", 2),
    ("check a pyproject whose dependencies are a string", "check {string_deps} --offline", 3),
    ("recipe check of cpus = nan", "recipe check {cpus_nan}", 3),
    ("recipe check of cpus = 1e308", "recipe check {cpus_huge}", 3),
    ("recipe check of memory_mib = 10**26", "recipe check {memory_huge}", 3),
    ("recipe check of an env name with =", "recipe check {env_equals}", 3),
    ("recipe check of an env value with NUL", "recipe check {env_nul}", 3),
    ("recipe check of a missing patch file", "recipe check {patch_missing}", 3),
    ("image build of an unknown image", "image build no-such-image", 6),
    ("publish with nowhere to publish to", "publish {wheel} --key {pub}", 2),
    ("publish a wheel that does not exist", "publish {missing} --to {dir}", 2),
    ("publish an unsigned wheel", "publish {wheel} --to {dir}/index --key {pub}", 12),
    ("yank a release an index does not hold", "yank {dir}/index acme 1.0 --reason r", 15),
    ("verify from an index without a pin",
     "verify requests --index http://127.0.0.1:9/ --key {pub}", 3),
    ("verify from an index that does not answer",
     "verify acme==1.0 --index http://127.0.0.1:9/ --key {pub}", 12),
    ("build both a recipe and a graph", "build {good} --graph {good}", 2),
    ("--jobs without a graph", "build {good} --jobs 2", 2),
    ("--jobs 0", "build --graph {good} --jobs 0", 2),
    ("a graph that is not JSON", "build --graph {good}", 3),
    ("plan without requirements", "plan", 2),
    ("plan a requirements file that does not exist", "plan {missing}", 2),
    ("plan for one image twice", "plan {good} --image trixie-py --image trixie-py", 2),
    ("plan for an image with no definition", "plan {requirements} --image no-such-image", 6),
    ("a second graph that is not JSON", "build --graph {graph} {good}", 3),
    ("-v after the command", "build {missing} -v", 2),
    ("-v before the command", "-v check", 2),
]  # fmt: skip


@pytest.mark.parametrize(("line", "code"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_a_bad_invocation_returns_its_code_with_an_error_and_a_hint_and_no_traceback(
    line: str, code: int, files: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    argv = [word.format(**files) for word in line.split()]
    result = main(argv)
    out, err = capsys.readouterr()
    assert isinstance(result, int) and result == code, err
    lines = err.splitlines()
    assert any(line.startswith("error: ") for line in lines), err
    assert any(line.startswith("hint: ") for line in lines), err
    assert "internal error" not in err
    assert ("Traceback" in err) == ("-v" in argv), err
    assert out == ""


def test_help_and_version_return_0_and_help_lists_every_exit_code(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from builder.errors import exit_codes

    assert main(["--version"]) == 0
    assert main(["build", "--help"]) == 0
    out = capsys.readouterr().out
    for code, _, _ in exit_codes():
        assert f"\n  {code:>3}  " in out


def test_a_relative_store_inside_a_checkout_is_refused_and_nothing_is_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    checkout = tmp_path / "checkout"
    (checkout / ".git").mkdir(parents=True)
    (checkout / "r.toml").write_text(GOOD_RECIPE)
    monkeypatch.chdir(checkout)
    assert main(["build", "r.toml", "--store", "store"]) == 2
    assert "inside the checkout" in capsys.readouterr().err
    assert sorted(p.name for p in checkout.iterdir()) == [".git", "r.toml"]
