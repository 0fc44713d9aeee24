"""The policy's binding of names to indexes, held where builder fetches: a recipe whose
`index` may not serve its name is refused before anything is fetched or made."""

from __future__ import annotations

from pathlib import Path

import pytest

from builder.cli import main
from builder.gate.binding import IndexBinding
from builder.gate.policy import GatePolicy
from builder.names import normalize
from builder.web import session
from tests.conftest import REPO

ORG = "https://org.example/simple/"
POLICY = GatePolicy(internal_indexes=(ORG,), internal_names=("acme-*",))


@pytest.mark.parametrize(
    ("name", "url", "refused"),
    [
        ("acme-core", ORG, False),
        ("acme-core", "https://org.example/simple", False),  # the same, without its slash
        ("acme-core", "https://attacker.example/simple/", True),
        ("requests", "https://attacker.example/simple/", True),  # no index the policy names
        ("requests", "https://configured.example/simple/", False),  # pip's configured index
    ],
)
def test_internal_names_come_only_from_internal_indexes(
    name: str, url: str, refused: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BUILDER_INDEX_URL", "https://configured.example/simple/")
    assert (IndexBinding(policy=POLICY).refusal(normalize(name), url) is not None) == refused


ORG_PATH = "https://org.example/pypi/simple/"


@pytest.mark.parametrize(
    ("url", "refused"),
    [
        ("https://org.example/pypi/files/acme_core-1.0.tar.gz", False),  # beside simple/
        ("https://ORG.example:443/pypi/files/acme_core-1.0.tar.gz", False),  # the same place
        ("https://org.example/pypi/simple/../../other/acme_core-1.0.tar.gz", True),
        ("https://org.example/pypi/%2e%2e/other/acme_core-1.0.tar.gz", True),
        ("https://org.example/other/acme_core-1.0.tar.gz", True),  # the host, not the index
        ("http://org.example/pypi/files/acme_core-1.0.tar.gz", True),  # another scheme
        ("https://org.example:8443/pypi/files/acme_core-1.0.tar.gz", True),  # another port
        ("https://files.org.example/acme_core-1.0.tar.gz", False),  # [indexes] internal-files
    ],
)
def test_an_internal_names_files_come_only_from_the_internal_indexes_files(
    url: str, refused: bool
) -> None:
    policy = GatePolicy(internal_indexes=(ORG_PATH,), internal_names=("acme-*",),
                        internal_files=("https://files.org.example/",))  # fmt: skip
    binding = IndexBinding(policy=policy)
    assert (binding.file_refusal(normalize("acme-core"), url) is not None) == refused
    assert binding.file_refusal(normalize("requests"), url) is None  # the page vouches


def test_pip_cert_is_what_builders_sessions_trust(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cert = tmp_path / "proxy-ca.pem"
    cert.write_text("-----BEGIN CERTIFICATE-----\n")
    monkeypatch.setenv("PIP_CERT", str(cert))
    assert session().verify == str(cert)
    monkeypatch.delenv("PIP_CERT")
    conf = tmp_path / "pip.conf"
    conf.write_text(f"[global]\ncert = {cert}\n")
    monkeypatch.setenv("PIP_CONFIG_FILE", str(conf))
    assert session().verify == str(cert)


def test_a_recipe_pointing_an_internal_name_elsewhere_is_refused_before_any_fetch(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    recipe = tmp_path / "markupsafe.toml"
    text = (REPO / "recipes" / "markupsafe.toml").read_text()
    recipe.write_text(
        text.replace("[sdist]\n", '[sdist]\nindex = "https://attacker.example/simple/"\n')
    )
    (tmp_path / "builder.toml").write_text(f'[indexes]\ninternal = ["{ORG}"]\n'
                                           '[names]\ninternal = ["markupsafe"]\n')  # fmt: skip
    store = tmp_path / "store"
    assert main(["build", str(recipe), "--store", str(store)]) == 14
    said = capsys.readouterr().err
    assert "https://attacker.example/simple/ is not an internal index" in said
    assert not (store / "images").exists() or not any((store / "images").iterdir())
    assert not any((store / "objects").rglob("*.tar.gz")), "nothing fetched"
