"""The registry of morphologies by name: `get`, `names`, `register`."""

from __future__ import annotations

from morphologies.human import HUMAN_MORPHOLOGIES
from morphologies.morphology import Morphology
from morphologies.ostrich import OSTRICH


class UnknownMorphologyError(LookupError):
    """Raised for a morphology name that is not registered; the message lists the known ones."""


_REGISTRY: dict[str, Morphology] = {}


def register(morphology: Morphology, *, replace: bool = False) -> Morphology:
    """Add a morphology to the registry (for user-defined bodies); returns it."""
    if morphology.name in _REGISTRY and not replace:
        raise ValueError(f"a morphology named {morphology.name!r} is already registered")
    _REGISTRY[morphology.name] = morphology
    return morphology


def names() -> list[str]:
    """Registered morphology names, in registration order."""
    return list(_REGISTRY)


def get(name: str) -> Morphology:
    """The morphology registered under `name`."""
    try:
        return _REGISTRY[name]
    except KeyError:
        known = ", ".join(_REGISTRY)
        raise UnknownMorphologyError(
            f"unknown morphology {name!r}; known morphologies: {known}"
        ) from None


for _morphology in (*HUMAN_MORPHOLOGIES, OSTRICH):
    register(_morphology)
