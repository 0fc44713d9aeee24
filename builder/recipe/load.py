"""Load and validate recipes: TOML files that pin one wheel build; override files; the
recipe an attestation describes.

Every problem in a file is collected and reported at once, each naming the file and the
dotted key, so a user fixes a recipe in one pass instead of one error per run.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from builder.errors import BuilderError, RecipeError
from builder.names import normalize
from builder.problems import Problems, required_str, table
from builder.recipe import fields
from builder.recipe.model import Recipe, Settings
from builder.recipe.schema import Form, Found, keys_of, read_settings

_SDIST_KEYS = {"file", "sha256", "index"}


def _keys(form: Form) -> tuple[set[str], set[str]]:
    """The keys a form allows at its top level and in its [build] table."""
    if form == "parameters":
        return {"name", "version", "sdist", "image", "requires"} | keys_of(form, "top"), set()
    pinned = {"package", "sdist"} if form == "recipe" else set()
    build = ({"image", "requires"} if form == "recipe" else {"image"}) | keys_of(form, "build")
    return pinned | {"build"} | keys_of(form, "top"), build


def _unknown(data: Mapping[str, Any], allowed: set[str], p: Problems, prefix: str = "") -> None:
    for unknown in sorted(set(data) - allowed):
        p.add(f"{prefix}{unknown}", f"unknown key (allowed: {', '.join(sorted(allowed))})")


def parse_recipe(data: Mapping[str, Any], path: Path) -> Recipe:
    """A recipe from its TOML tables; every problem reported at once."""
    p = Problems(path)
    top, build_keys = _keys("recipe")
    _unknown(data, top, p)
    package = table(data, "package", {"name", "version"}, p)
    name = required_str(package, "name", "package.name", p)
    version = required_str(package, "version", "package.version", p, fields.check_version)
    build = table(data, "build", build_keys, p)
    requires, built = fields.build_requirements(build.get("requires", []), "build.requires", p)
    settings = read_settings(Found(build=build, top=data, beside=path.parent, form="recipe"), p)
    settings["patches"] = fields.present(settings["patches"], p)
    recipe = Recipe(
        path=path,
        name=normalize(name),
        version=version,
        sdist=fields.pinned_sdist(table(data, "sdist", _SDIST_KEYS, p), name, version, p),
        image=required_str(build, "image", "build.image", p),
        requires=requires,
        built=built,
        **settings,
    )
    p.raise_if_any()
    return recipe


def load_settings(path: Path) -> Settings:
    """An override file: [build] image and the settings an override may set
    (schema.OVERRIDABLE), each checked as in a recipe, every problem at once."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise RecipeError(f"{path}: cannot read the override: {exc}") from exc
    p = Problems(path, hint="docs/plan.md lists what an override may set")
    top, build_keys = _keys("override")
    _unknown(data, top, p)
    build = table(data, "build", build_keys, p)
    image = build.get("image")
    if image is not None and (not isinstance(image, str) or not image.strip()):
        p.add("build.image", f"expected the name of an image definition, got {image!r}")
        image = None
    settings = read_settings(Found(build=build, top=data, beside=path.parent, form="override"), p)
    settings["patches"] = fields.present(settings["patches"], p)
    p.raise_if_any()
    return Settings(image=image, **settings)


def load_recipe(path: Path) -> Recipe:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise RecipeError(
            f"{path}: no such recipe", hint="recipes live in recipes/*.toml"
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise RecipeError(f"{path}: cannot read recipe: {exc}") from exc
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise RecipeError(f"{path}: not valid TOML: {exc}") from exc
    return parse_recipe(data, path)


def recipe_from_parameters(
    params: Any, limits: Any, where: Path, error: type[BuilderError] = RecipeError
) -> Recipe:
    """The recipe an attestation's externalParameters describe (Recipe.external_parameters
    is their form), with the limits of its internalParameters; validated field by field
    as a recipe file is. `where` names the attestation in any error; the patch files are
    beside it (an auditor puts them there; their sha256 decides)."""
    p = Problems(
        where, hint="the attestation does not describe a recipe builder knows", error=error
    )
    prefix = "externalParameters."
    if not isinstance(params, Mapping):
        p.add("externalParameters", "expected an object")
        p.raise_if_any()
    for unknown in sorted(set(params) - _keys("parameters")[0]):
        p.add(f"{prefix}{unknown}", "unknown key")
    name = required_str(params, "name", f"{prefix}name", p)
    version = required_str(params, "version", f"{prefix}version", p, fields.check_version)
    sdist = table(params, "sdist", _SDIST_KEYS, p, prefix)
    requires, built = fields.build_requirements(params.get("requires", []), f"{prefix}requires", p)
    found = Found(build=params, top=params, beside=where.parent, form="parameters")
    recipe = Recipe(
        path=where,
        name=normalize(name),
        version=version,
        sdist=fields.pinned_sdist(sdist, name, version, p, prefix),
        image=required_str(params, "image", f"{prefix}image", p),
        requires=requires,
        built=built,
        limits=fields.limits(limits if isinstance(limits, Mapping) else {},
                             "internalParameters.limits", p),
        **read_settings(found, p),
    )  # fmt: skip
    p.raise_if_any()
    return recipe
