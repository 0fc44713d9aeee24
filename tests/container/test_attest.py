"""Attest, verify and rebuild from an attestation, end to end with real builds."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest

from builder.cli import main
from builder.provenance.signing import KeyPair, load_signer, new_key, sign_statement
from builder.store import Store
from tests.conftest import json_output
from tests.container.conftest import c_extension_files, local_recipe


@pytest.fixture
def attested(docker_client, image, session_store: Store, tmp_path: Path):  # type: ignore[no-untyped-def]
    """A local C extension built with one rebuild, attested with a fresh key."""
    recipe = local_recipe(tmp_path, session_store, "attestext", c_extension_files("attestext"))
    pair = new_key(tmp_path / "keys" / "k.pem")
    argv = ["build", "-q", str(recipe), "--store", str(session_store.root), "--rebuilds", "1",
            "--dist", str(tmp_path / "dist"), "--attestations", str(tmp_path / "att"),
            "--key", str(pair.private)]  # fmt: skip
    assert main(argv) == 0
    (wheel,) = (tmp_path / "dist").glob("*.whl")
    (bundle,) = (tmp_path / "att").glob("*.intoto.jsonl")
    return wheel, bundle, pair


def test_a_build_attests_and_its_wheel_verifies_under_a_strict_policy(  # type: ignore[no-untyped-def]
    attested, tmp_path: Path, capsys
) -> None:
    wheel, bundle, pair = attested
    assert bundle.name == f"{wheel.name}.intoto.jsonl" and len(bundle.read_text().splitlines()) == 3
    policy = tmp_path / "policy.toml"
    policy.write_text('[verify]\nreproducible = "raw"\nmax-age-days = 1\n')
    argv = ["verify", str(wheel), "--attestation", str(bundle), "--key", str(pair.public)]
    assert main([*argv, "--policy", str(policy)]) == 0
    assert "FAIL" not in capsys.readouterr().err


@pytest.mark.parametrize("backend", ["auto", "docker", "sandbox"], indirect=True)
def test_the_readme_job_a_reference_recipe_verifies_under_the_reference_policy(  # type: ignore[no-untyped-def]
    backend: str, docker_client, image, session_store: Store, tmp_path: Path, capsys
) -> None:
    """README's first command, on whichever backend builds: the reference policy
    accepts a wheel of a reference recipe rebuilt here and attested with a local key."""
    from tests.conftest import REPO

    pair = new_key(tmp_path / "keys" / "k.pem")
    argv = ["build", "-q", str(REPO / "recipes" / "markupsafe.toml"), "--rebuilds", "2",
            "--store", str(session_store.root), "--dist", str(tmp_path / "dist"),
            "--attestations", str(tmp_path / "att"), "--key", str(pair.private),
            "--backend", backend]  # fmt: skip
    assert main([*argv, "--json"]) == 0
    built = json_output(capsys.readouterr().out, "build")
    assert built["ok"] is True and built["reproducible"] is True
    (wheel,) = (tmp_path / "dist").glob("*.whl")
    policy = REPO / "attestations" / "reference" / "policy.toml"
    bundle = tmp_path / "att" / f"{wheel.name}.intoto.jsonl"
    argv = ["verify", str(wheel), "--attestation", str(bundle), "--key", str(pair.public),
            "--policy", str(policy)]  # fmt: skip
    assert main(argv) == 0, capsys.readouterr().err


def test_an_auditor_rebuilds_from_the_attestation_alone(  # type: ignore[no-untyped-def]
    attested, session_store: Store, tmp_path: Path, capsys
) -> None:
    wheel, bundle, pair = attested
    audit = tmp_path / "audit"
    argv = ["rebuild", "--from", str(bundle), "--key", str(pair.public), "--json", "-q",
            "--store", str(session_store.root), "--dist", str(audit)]  # fmt: skip
    assert main(argv) == 0
    result = json_output(capsys.readouterr().out, "rebuild")
    assert result["matches"] and result["signature_checked"]
    assert (audit / wheel.name).read_bytes() == wheel.read_bytes()


def test_an_attestation_naming_an_unknown_image_is_refused_with_the_reason(  # type: ignore[no-untyped-def]
    attested, image, session_store: Store, tmp_path: Path, capsys
) -> None:
    _, bundle, pair = attested
    envelope = json.loads(bundle.read_text().splitlines()[0])
    statement = json.loads(base64.b64decode(envelope["payload"]))
    for dep in statement["predicate"]["buildDefinition"]["resolvedDependencies"]:
        if dep["annotations"]["role"] == "image":
            dep["digest"]["sha256"] = "0" * 64
            dep["annotations"]["packages"] = ["python3=0.0-attested"]
    forged = tmp_path / "forged.intoto.jsonl"
    forged.write_text(json.dumps(sign_statement(statement, load_signer(pair.private))) + "\n")
    argv = ["rebuild", "--from", str(forged), "--key", str(pair.public), "-q",
            "--store", str(session_store.root), "--dist", str(tmp_path / "x")]  # fmt: skip
    assert main(argv) == 6
    err = capsys.readouterr().err
    (python3,) = [p.version for p in image.packages if p.name == "python3"]
    assert "0" * 64 in err and f"python3 {python3} here, 0.0-attested attested" in err
    assert not (tmp_path / "x").exists()


def test_a_rebuild_from_a_tampered_attestation_is_refused_before_building(  # type: ignore[no-untyped-def]
    attested, session_store: Store, tmp_path: Path, capsys
) -> None:
    _, bundle, _ = attested
    other: KeyPair = new_key(tmp_path / "other.pem")
    argv = ["rebuild", "--from", str(bundle), "--key", str(other.public), "-q",
            "--store", str(session_store.root), "--dist", str(tmp_path / "x")]  # fmt: skip
    assert main(argv) == 12
    assert "does not verify" in capsys.readouterr().err
