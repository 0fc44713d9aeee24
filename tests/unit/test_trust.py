"""The trust file: k of n signers, each its own key; every problem named at once."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from builder.errors import InputError, KeyProblem
from builder.provenance.signing import new_key
from builder.provenance.trust import read_trust


def _write(folder: Path, text: str) -> Path:
    path = folder / "trust.toml"
    path.write_text(text)
    return path


def test_a_trust_file_names_its_quorum_and_each_signer_s_key_relative_to_itself(
    tmp_path: Path,
) -> None:
    a = new_key(tmp_path / "keys" / "a.pem")
    b = new_key(tmp_path / "keys" / "b.pem")
    trust = read_trust(_write(tmp_path, 'quorum = 2\n[signers]\nalpha = "keys/a.pub.json"\n'
                                        'beta = "keys/b.pub.json"\n'))  # fmt: skip
    assert trust.quorum == 2 and trust.names == ("alpha", "beta")
    assert trust.signer_of(["x", b.keyid]) is not None
    assert trust.signer_of([b.keyid]).name == "beta"  # type: ignore[union-attr]
    assert trust.signer_of(["unknown"]) is None
    assert trust.describe() == "2 of 2 (alpha, beta)"
    assert a.keyid != b.keyid


def test_every_problem_of_a_trust_file_is_named_at_once(tmp_path: Path) -> None:
    path = _write(tmp_path, "quorum = 0\nextra = 1\n[signers]\nalpha = 3\n")
    with pytest.raises(InputError) as raised:
        read_trust(path)
    message = raised.value.message
    assert f"{path}: 3 problems" in message
    assert "quorum: expected a whole number of signers, at least 1, got 0" in message
    assert "(top level).extra: unknown key" in message
    assert "signers.alpha: expected the path of a public key file, got 3" in message


def test_a_quorum_larger_than_its_signers_is_refused(tmp_path: Path) -> None:
    new_key(tmp_path / "a.pem")
    with pytest.raises(InputError, match="3 signers must agree, and \\[signers\\] names 1"):
        read_trust(_write(tmp_path, 'quorum = 3\n[signers]\nalpha = "a.pub.json"\n'))


def test_one_key_under_two_names_counts_once_and_is_refused(tmp_path: Path) -> None:
    pair = new_key(tmp_path / "a.pem")
    data = json.loads(pair.public.read_text())
    data["keyid"] = "f" * 64  # the same key material under another key id
    (tmp_path / "again.pub.json").write_text(json.dumps(data))
    text = 'quorum = 2\n[signers]\nalpha = "a.pub.json"\nbeta = "again.pub.json"\n'
    with pytest.raises(InputError, match=r"signers\.beta: the same key as signers\.alpha"):
        read_trust(_write(tmp_path, text))


def test_a_missing_key_file_is_named_with_its_signer(tmp_path: Path) -> None:
    path = _write(tmp_path, 'quorum = 1\n[signers]\nalpha = "gone.pub.json"\n')
    with pytest.raises(KeyProblem, match=r"trust\.toml: signers\.alpha: .*gone\.pub\.json"):
        read_trust(path)


def test_a_trust_file_that_is_not_toml_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="not TOML"):
        read_trust(_write(tmp_path, "quorum = = 2\n"))
