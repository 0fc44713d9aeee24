"""Recipes: TOML files that pin one wheel build (docs/recipes.md).

values.py holds what a recipe pins, schema.py its settings (one entry each), fields.py
how each value is read, model.py the Recipe and an override's Settings, load.py the
readers of recipe files, override files and attestations' parameters.
"""

from builder.recipe.fields import parse_pinned_wheels
from builder.recipe.load import load_recipe, load_settings, parse_recipe, recipe_from_parameters
from builder.recipe.model import Recipe, Settings
from builder.recipe.values import ENV_RESERVED, BuiltRequirement, Patch, PinnedFile, RebuildPolicy

__all__ = [
    "ENV_RESERVED",
    "BuiltRequirement",
    "Patch",
    "PinnedFile",
    "RebuildPolicy",
    "Recipe",
    "Settings",
    "load_recipe",
    "load_settings",
    "parse_pinned_wheels",
    "parse_recipe",
    "recipe_from_parameters",
]
