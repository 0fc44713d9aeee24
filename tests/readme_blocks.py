"""The README's shell blocks, as a user copies them: every one is run by a test (listed in
RUN_BY), as written, in a copy of the checkout."""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from tests.conftest import REPO

README = REPO / "README.md"
# Each block, by how its first command begins: the test that runs it as written, or why
# none does (the second word: "as-written" or "not-run").
RUN_BY = {
    "apt-get install -y mmdebstrap && pip install -e .":
        "tests/container/slow/test_readme_first_command.py as-written",
    "apt-get update -qq":
        ".ci/run as-written (tests/unit/test_project.py holds it to the README's)",
    "builder plan recipes/ml-stack": "tests/container/slow/test_ml_stack.py as-written",
    "builder build --graph stack/graph.json --cluster":
        "tests/container/cluster/test_cluster.py not-run: the ML stack a second time on a "
        "cluster does not fit CI's 90 minutes; that test runs the same options on a small "
        "stack with a real scheduler and workers",
    "builder key new ci-key.pem": "tests/container/test_readme.py as-written",
    "builder report --dist stack/dist": "tests/container/slow/test_ml_stack.py as-written",
}  # fmt: skip


@dataclass(frozen=True, slots=True)
class Block:
    line: int  # where it begins in README.md
    text: str

    @property
    def commands(self) -> list[str]:
        """Its lines, comments dropped."""
        return [c for c in (_uncomment(ln).strip() for ln in self.text.splitlines()) if c]

    def argv(self, index: int, cwd: Path) -> list[str]:
        """Command `index`'s words, globs matched in `cwd` as the shell would, without the
        leading `builder`."""
        words: list[str] = []
        for word in shlex.split(self.commands[index]):
            matched = sorted(cwd.glob(word)) if any(c in word for c in "*?[") else []
            words += [str(m.relative_to(cwd)) for m in matched] or [word]
        assert words[0] == "builder", self.commands[index]
        return words[1:]


def blocks() -> list[Block]:
    found, text = [], README.read_text(encoding="utf-8")
    for match in re.finditer(r"^```sh\n(.*?)^```", text, re.MULTILINE | re.DOTALL):
        found.append(Block(text.count("\n", 0, match.start()) + 1, match.group(1)))
    return found


def block(begins: str) -> Block:
    (found,) = [b for b in blocks() if b.commands[0].startswith(begins)]
    return found


def checkout_copy(dest: Path) -> Path:
    """The checkout's tracked files (with what is not committed yet), copied to `dest`:
    where a block runs, so that what it writes never lands in the checkout."""
    listed = subprocess.run(["git", "ls-files", "-z", "--cached", "--others",
                             "--exclude-standard"], cwd=REPO, capture_output=True,
                            check=True).stdout  # fmt: skip
    for name in filter(None, listed.decode().split("\0")):
        source = REPO / name
        if source.is_file():
            target = dest / name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
    return dest


def _uncomment(line: str) -> str:
    """The line without a trailing `# comment` (a # inside quotes stays)."""
    quoted = None
    for i, char in enumerate(line):
        if char in "'\"" and quoted in (None, char):
            quoted = None if quoted else char
        elif char == "#" and quoted is None and (i == 0 or line[i - 1].isspace()):
            return line[:i]
    return line
