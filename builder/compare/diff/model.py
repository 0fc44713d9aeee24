"""What a wheel diff says: per member, what differs and (for ELF) per section, why."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

# How a member differs: present in one wheel only, its bytes, or its zip fields.
MemberKind = Literal["only-in-a", "only-in-b", "content", "metadata"]
# What a differing member is: code, the wheel's .dist-info files, or packaging (zip
# fields, RECORD).
Category = Literal["code", "wheel metadata", "packaging"]
ONLY_IN_A: MemberKind = "only-in-a"
ONLY_IN_B: MemberKind = "only-in-b"
CONTENT: MemberKind = "content"
METADATA: MemberKind = "metadata"
CODE: Category = "code"
WHEEL_METADATA: Category = "wheel metadata"
PACKAGING: Category = "packaging"


@dataclass(frozen=True, slots=True, kw_only=True)
class SectionDiff:
    name: str
    cause: str
    size_a: int
    size_b: int
    differing_a: tuple[str, ...] = ()
    differing_b: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class MemberDiff:
    name: str
    kind: MemberKind
    details: tuple[str, ...] = ()
    text_diff: tuple[str, ...] = ()
    sections: tuple[SectionDiff, ...] = ()

    @property
    def category(self) -> Category:
        """packaging (zip fields, RECORD), metadata (other .dist-info files) or code."""
        top = self.name.split("/", 1)[0]
        if self.kind == METADATA or (self.name == f"{top}/RECORD" and top.endswith(".dist-info")):
            return PACKAGING
        return WHEEL_METADATA if top.endswith(".dist-info") else CODE


@dataclass(frozen=True, slots=True, kw_only=True)
class WheelDiff:
    a: str
    b: str
    sha256_a: str
    sha256_b: str
    order_differs: bool
    members: tuple[MemberDiff, ...] = field(default_factory=tuple)

    @property
    def identical(self) -> bool:
        return self.sha256_a == self.sha256_b

    @property
    def code_differs(self) -> bool:
        """Whether a file outside .dist-info differs in content, or exists on one side."""
        return any(m.category == CODE for m in self.members)

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        for member, item in zip(self.members, data["members"], strict=True):
            item["category"] = member.category
        data |= {"identical": self.identical, "code_differs": self.code_differs}
        return data
