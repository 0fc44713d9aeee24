"""Write a new recipe for NAME==VERSION from the configured index.

The sdist is downloaded and pinned; its `[build-system].requires` are read from the archive
(never by running it) and locked, with their whole closure, for the image's Python. The
result is a recipe that `builder build` can use as is, and that a reviewer can read.
"""

from __future__ import annotations

import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import tomlkit
from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import InvalidSdistFilename, parse_sdist_filename
from packaging.version import InvalidVersion, Version
from tomlkit.items import AoT, Table

from builder.compare.upstream import compiled_upstream
from builder.errors import FetchError, GateFailed, RecipeError
from builder.fetch.cargo_lock import lock_patches, rust_version
from builder.fetch.sources import fetch_crates, fetch_pinned, newest_rust_version
from builder.gate.check import Gate, Issue
from builder.gate.policy import GatePolicy
from builder.gate.rules import hints
from builder.images import DEFAULT_IMAGE, Image, ensure_image, find_definition
from builder.images.toolchain import image_rustc, images_for_rust, rust_images
from builder.index import Index
from builder.names import NormalizedName, normalize
from builder.progress import Progress
from builder.recipe import BuiltRequirement, PinnedFile, Settings, parse_recipe
from builder.recipe.schema import toml_settings
from builder.resolve.lock import ImageRuns, backend_requirements, lock_requirements, unmet
from builder.resolve.sdist_facts import SdistFacts
from builder.sandbox import Sandbox
from builder.store import Store, write_atomic


@dataclass(frozen=True, slots=True, kw_only=True)
class NewRecipe:
    name: NormalizedName
    version: str
    sdist: PinnedFile
    image: str
    build_system_requires: tuple[str, ...]
    requires: tuple[PinnedFile, ...]
    backend_requires: tuple[str, ...] = ()
    built: tuple[BuiltRequirement, ...] = ()
    written_by: str = "builder recipe new"
    notes: tuple[str, ...] = ()
    settings: Settings = field(default_factory=Settings)

    def to_toml(self) -> str:
        """The recipe file, written by a TOML library (tomlkit keeps the comments)."""
        doc = tomlkit.document()
        doc.add(tomlkit.comment(f"{self.name} {self.version}: written by `{self.written_by}`."))
        doc.add(
            tomlkit.comment(f"[build-system].requires: {', '.join(self.build_system_requires)}")
        )
        if self.backend_requires:
            asked = ", ".join(self.backend_requires)
            doc.add(tomlkit.comment(f"asked for by the build backend: {asked}"))
        for note in self.notes:
            doc.add(tomlkit.comment(note))
        doc["package"] = {"name": self.name, "version": self.version}
        doc["sdist"] = _pin_table(self.sdist, ("file", "sha256", "index"))
        build = tomlkit.table()
        build["image"] = self.image
        said = toml_settings(self.settings.settings())
        for place, value in said.items():
            if place[0] == "build":
                build[place[1]] = value
        requires = tomlkit.aot()
        for pin in self.requires:
            requires.append(_pin_table(pin, ("name", "version", "file", "sha256", "index")))
        for need in self.built:
            requires.append(_tables([need.as_dict()])[0])
        build["requires"] = requires
        doc["build"] = build
        for place, value in said.items():
            if place[0] != "build":
                doc[place[0]] = _tables(value) if isinstance(value, list) else value
        return tomlkit.dumps(doc)


def _tables(entries: list[dict[str, Any]]) -> AoT:
    """An array of tables ([[patches]]), as a recipe writes it."""
    array = tomlkit.aot()
    for entry in entries:
        table = tomlkit.table()
        table.update(entry)
        array.append(table)
    return array


def _pin_table(pin: PinnedFile, keys: tuple[str, ...]) -> Table:
    table = tomlkit.table()
    for key, value in pin.as_dict().items():
        if key in keys:
            table[key] = value
    return table


def parse_pin(spec: str) -> tuple[NormalizedName, str]:
    """NAME==VERSION, exactly one version: a recipe pins, it does not choose."""
    try:
        req = Requirement(spec)
    except InvalidRequirement as exc:
        raise RecipeError(f"{spec!r} is not a requirement: {exc}") from exc
    specs = list(req.specifier)
    if len(specs) != 1 or specs[0].operator != "==" or "*" in specs[0].version:
        raise RecipeError(f"{spec!r} must pin one version, as in NAME==VERSION")
    if req.extras or req.marker or req.url:
        raise RecipeError(f"{spec!r}: extras, markers and URLs have no place in a recipe's pin")
    return normalize(req.name), specs[0].version


def find_sdist(index: Index, name: NormalizedName, version: str) -> PinnedFile:
    wanted = Version(version)
    for f in index.files(name):
        try:
            sdist_name, sdist_version = parse_sdist_filename(f.filename)
        except (InvalidSdistFilename, InvalidVersion):
            continue
        if sdist_name == name and sdist_version == wanted:
            if f.sha256 is None:
                raise FetchError(f"{f.filename}: the index {index.url} lists no sha256 for it")
            return PinnedFile(
                name=name, version=version, file=f.filename, sha256=f.sha256, index=index.url
            )
    raise FetchError(
        f"{name} {version}: the index {index.url} has no sdist for this version",
        hint="builder builds from source distributions only",
    )


def _gate(gate: Gate, names: list[str], progress: Progress) -> None:
    if names:
        progress.status(f"gate: checking {', '.join(names)}")
        _stop_on_errors(gate.check(names), progress)


def gate_releases(gate: Gate, pins: list[tuple[str, str]], progress: Progress) -> None:
    """Pinned releases against the advisory snapshot: a known-malicious one stops here,
    before it is downloaded or locked; a vulnerable one is said, with its fix."""
    if pins:
        _stop_on_errors(gate.releases(pins), progress)


def _stop_on_errors(issues: list[Issue], progress: Progress) -> None:
    """Say the warnings and notes; raise on the errors, before anything is pinned."""
    for issue in issues:
        if issue.severity != "error":
            progress.status(f"{issue.severity}: {issue.kind}: {issue.message}")
    errors = [i for i in issues if i.severity == "error"]
    if errors:
        raise GateFailed(
            "; ".join(f"{i.kind}: {i.message}" for i in errors),
            hint="nothing was pinned; " + hints(i.kind for i in errors),
        )


def _requirements(declared: tuple[str, ...], where: str) -> list[Requirement]:
    parsed = []
    for text in declared:
        try:
            parsed.append(Requirement(text))
        except InvalidRequirement as exc:
            raise RecipeError(f"{where}: build requirement {text!r}: {exc}") from exc
    return parsed


def _outside_extras(requirements: list[Requirement]) -> list[Requirement]:
    """What is installed without asking for an extra: the names the gate must pass. A
    package's test and docs extras (`; extra == "test"`) never reach its build or its
    users' closure, and would only make the gate cry wolf."""
    return [
        r for r in requirements
        if r.marker is None or "extra" not in str(r.marker) or r.marker.evaluate({"extra": ""})
    ]  # fmt: skip


@dataclass(frozen=True, slots=True, kw_only=True)
class RecipeRequest:
    """What `recipe new` is asked for: NAME==VERSION, the image (None: the default, or
    the first whose rustc the sdist's crates need), Debian packages to add to it, and the
    backend's environment when it is asked for its requirements."""

    spec: str
    image_name: str | None = None
    extra_packages: tuple[str, ...] = ()
    env: Mapping[str, str] | None = None


def new_recipe(
    asked: RecipeRequest,
    *,
    store: Store,
    index: Index,
    sandbox_factory: Callable[[], Sandbox],
    progress: Progress,
    image_search: tuple[Path, ...] | None = None,
    gate: Gate | None = None,
) -> NewRecipe:
    """Every name passes the gate before anything of it is pinned: the package before its
    sdist is downloaded, its declared build and runtime requirements before they are
    resolved, and the resolved closure before it is written. With no image named, the
    default one, unless the sdist's Cargo.toml needs a newer rustc than it has;
    `extra_packages` (Debian -dev packages the build needs, such as libpq-dev for a
    setup.py that runs pg_config) are added to it for the resolution and the recipe, and
    `env` (an opt-in such as FONTTOOLS_WITH_CYTHON=1) is the backend's environment when
    it is asked for its requirements, and the recipe's [build] env."""
    image_name, extra_packages, env = asked.image_name, asked.extra_packages, asked.env
    name, version = parse_pin(asked.spec)
    gate = gate or Gate(GatePolicy(), store.root, progress)
    _gate(gate, [name], progress)
    gate_releases(gate, [(name, version)], progress)
    sdist = find_sdist(index, name, version)
    fetch_pinned(sdist, store, index, progress)
    base = _image_for(sdist, image_name, store, progress, image_search)
    image = base
    if extra_packages:  # the image the build will use: resolve in it, not in the base
        definition = find_definition(base.name, image_search).with_packages(extra_packages)
        image = ensure_image(definition, store, progress)
    sandbox = sandbox_factory()
    sandbox.prepare(image, store, progress)
    runs = ImageRuns(image=image, store=store, index=index, sandbox=sandbox, progress=progress)
    recipe = pin_recipe(sdist, runs, gate=gate, env=env)
    if image_name is None:
        newer = _image_for_crates(recipe, image, store, sandbox_factory, progress, image_search)
        if newer is not None:  # again, in the image named: its build requirements, its locks
            return new_recipe(
                replace(asked, image_name=newer.name), store=store, index=index,
                sandbox_factory=sandbox_factory, progress=progress, image_search=image_search,
                gate=gate,
            )  # fmt: skip
    recipe = _compiled_like_upstream(recipe, index, image, progress)
    if not extra_packages:
        return recipe
    settings = replace(recipe.settings, extra_packages=tuple(sorted(set(extra_packages))))
    return replace(recipe, image=base.name, settings=settings)


def _compiled_like_upstream(
    recipe: NewRecipe, index: Index, image: Image, progress: Progress
) -> NewRecipe:
    """`compiled = true` where the index has compiled wheels of the release that the
    image's Python installs: a build that falls back to pure Python then fails, instead
    of giving a wheel slower than upstream's (an sdist may compile only with an opt-in)."""
    if recipe.settings.compiled:
        return recipe
    compiled = compiled_upstream(index, recipe.name, recipe.version, image)
    if not compiled:
        return recipe
    said = (
        f"compiled = true: the index has {len(compiled)} compiled wheel(s) of {recipe.version} "
        f"for this Python (e.g. {compiled[0]}): a build that falls back to pure Python fails"
    )
    progress.status(said)
    return replace(
        recipe,
        settings=replace(recipe.settings, compiled=True),
        notes=(*recipe.notes, said),
    )


def _image_for_crates(
    recipe: NewRecipe,
    image: Image,
    store: Store,
    sandbox_factory: Callable[[], Sandbox],
    progress: Progress,
    search: tuple[Path, ...] | None,
) -> Image | None:
    """Where a crate the recipe locks needs a newer rustc than the image has (its own
    Cargo.toml says so; the sdist's may say nothing), the first image whose rustc is new
    enough, made here if need be; None when the image will do, or when none will (the
    build then says which image cargo wanted). The crates are fetched now: the build
    finds them in the store."""
    crates = fetch_crates(
        recipe.sdist, image, store, sandbox_factory, progress, patches=recipe.settings.patches
    )
    newest = newest_rust_version(crates, store)
    if newest is None or _rust_at_least(image, newest[0]):
        return None
    need, crate = newest
    return _image_with_rust(need, f"crate {crate.name} {crate.version}", image, store, progress,
                            search)  # fmt: skip


def _image_with_rust(
    need: Version,
    who: str,
    current: Image,
    store: Store,
    progress: Progress,
    search: tuple[Path, ...] | None,
) -> Image | None:
    """The first image but `current` whose rustc is `need` or newer (made here if need
    be), said with who needs it."""
    for defn, _ in rust_images(store, search, like=current):
        if defn.name == current.name:
            continue
        image = ensure_image(defn, store, progress)
        if _rust_at_least(image, need):
            progress.status(
                f"{who} needs rustc {need}; {current.name} has {image_rustc(current)}: the "
                f"recipe uses {image.name} (rustc {image_rustc(image)})"
            )
            return image
    return None


def _image_for(
    sdist: PinnedFile,
    chosen: str | None,
    store: Store,
    progress: Progress,
    search: tuple[Path, ...] | None,
) -> Image:
    """The image asked for; else the default, or, where the sdist's Cargo.toml needs a
    newer rustc than the default has, the first image whose rustc is new enough (made
    here if need be). None has one: the default, and pin_recipe says what is missing."""
    default = ensure_image(find_definition(chosen or DEFAULT_IMAGE, search), store, progress)
    need = rust_version(store.verified_path(sdist.sha256, sdist.file))
    if chosen or need is None or _rust_at_least(default, need):
        return default
    who = f"{sdist.name} {sdist.version} (its Cargo.toml)"
    return _image_with_rust(need, who, default, store, progress, search) or default


def _rust_at_least(image: Image, need: Version) -> bool:
    have = image_rustc(image)
    return have is not None and have >= need


def _check_rust(sdist: PinnedFile, declared: str | None, image: Image, store: Store) -> None:
    """A package whose Cargo.toml needs a newer rustc than the image has fails here,
    before anything is locked or built, naming the images that have one."""
    need = Version(declared) if declared is not None else None
    if need is None or _rust_at_least(image, need):
        return
    have = image_rustc(image)
    found = images_for_rust(need, store, current=image)
    made = max(((v, d.name) for d, v in rust_images(store, like=image) if v is not None),
               default=None)  # fmt: skip
    newest = f" (the newest: {made[1]}, rustc {made[0]})" if made else ""
    raise RecipeError(
        f"{sdist.name} {sdist.version}: its Cargo.toml needs rustc {need} or newer, and the "
        f"image {image.name} has " + (f"rustc {have}" if have else "no rustc"),
        hint=f"use an image whose rustc is new enough (--image): {', '.join(found)}"
        if found
        else f"no image here has one{newest}: define one whose Debian suites carry it "
        "(docs/images.md: extra-suites)",
    )


def pin_recipe(
    sdist: PinnedFile, runs: ImageRuns, *, gate: Gate, env: Mapping[str, str] | None = None
) -> NewRecipe:
    """The recipe of an sdist: its build requirements (declared, then what its backend
    asks for, with `env` set) locked to wheels for the image, each name through the gate
    first."""
    image, store, index, sandbox, progress = (runs.image, runs.store, runs.index, runs.sandbox,
                                              runs.progress)  # fmt: skip
    gate_releases(gate, [(sdist.name, sdist.version)], progress)
    fetch_pinned(sdist, store, index, progress)
    facts = runs.kept(
        lambda: SdistFacts.read(store.verified_path(sdist.sha256, sdist.file)),
        lambda a, q: a.facts(sdist, q),
    )
    _check_rust(sdist, facts.rust_version, image, store)
    lockless = list(facts.lockless)
    locks = lock_patches(
        sdist, lockless, image=image, store=store, sandbox=sandbox, progress=progress
    ) if lockless else ()  # fmt: skip
    declared, runtime = facts.declared, facts.runtime
    installed = _outside_extras(_requirements((*declared, *runtime), sdist.file))
    _gate(gate, [r.name for r in installed], progress)
    static = _requirements(declared, sdist.file)
    requires = lock_requirements(static, runs)
    asked = backend_requirements(sdist, requires, runs, env)
    missing = unmet(asked, requires)
    if missing:
        _gate(gate, [r.name for r in missing], progress)
        requires = lock_requirements([*static, *missing], runs)
    _gate(gate, [r.name for r in requires], progress)
    gate_releases(gate, [(r.name, r.version) for r in requires], progress)
    if (said := gate.advisories_news()) is not None:
        progress.status(f"advisories: {said}")
    return NewRecipe(
        name=sdist.name,
        version=sdist.version,
        sdist=sdist,
        image=image.name,
        build_system_requires=declared,
        requires=requires,
        backend_requires=tuple(str(r) for r in missing),
        settings=Settings(patches=locks, env=dict(env or {})),
        notes=tuple(f"{p.file}: the Cargo.lock cargo resolved for it (the sdist ships none)"
                    for p in locks),
    )  # fmt: skip


def write_recipe(recipe: NewRecipe, path: Path, *, force: bool = False) -> None:
    if path.exists() and not force:
        raise RecipeError(f"{path} exists", hint="pass --force to replace it")
    text = recipe.to_toml()
    parse_recipe(tomllib.loads(text), path)  # what we write, `builder build` must accept
    path.parent.mkdir(parents=True, exist_ok=True)
    for patch in recipe.settings.patches:  # beside the recipe, as it says
        write_atomic(path.parent / patch.file, patch.path.read_bytes())
    write_atomic(path, text.encode())
