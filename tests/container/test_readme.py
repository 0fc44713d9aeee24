"""The README's internal-index section, run as written in a copy of the checkout: a CI key,
a signed build, publish under the reference policy, nginx serving the index from the
repository's configuration, pip downloading the wheel, then verify and rebuild from the
index. The store is the session's (BUILDER_STORE), so the image is not made again. The
copy sits in pytest's temporary folder, which only its owner may enter: as a user's home
folder, which nginx's workers must read (the section runs them as the user)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from builder.store import Store
from tests.readme_blocks import block, checkout_copy

SECTION = "builder key new ci-key.pem"


def test_the_internal_index_section_runs_as_written(  # type: ignore[no-untyped-def]
    bubblewrap, session_store: Store, tmp_path: Path
) -> None:
    work = checkout_copy(tmp_path / "checkout")
    env = os.environ | {"BUILDER_STORE": str(session_store.root), "HOME": str(tmp_path / "home")}
    nginx = ["nginx", "-p", str(work / "nginx"), "-c", str(work / "nginx" / "nginx.conf")]
    said = tmp_path / "said.txt"  # a file, not a pipe: nginx keeps the block's stderr open
    try:
        with said.open("w") as out:
            ran = subprocess.run(["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c",
                                  block(SECTION).text], cwd=work, env=env, stdout=out,
                                 stderr=subprocess.STDOUT, timeout=1800, check=False)  # fmt: skip
    finally:
        if (work / "nginx" / "nginx.pid").exists():  # the block failed before its last line
            subprocess.run([*nginx, "-s", "stop"], check=False, capture_output=True)
    assert ran.returncode == 0, said.read_text()[-4000:]
    assert list((work / "downloads").glob("markupsafe-3.0.3-*.whl")), "pip took it from the index"
    assert (work / "index" / "simple" / "markupsafe" / "index.html").is_file()
    assert not (work / "nginx" / "nginx.pid").exists(), "the block stops nginx"
