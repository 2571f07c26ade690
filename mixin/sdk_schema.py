"""A JSON Schema of the Grafana dashboard, derived from the installed grafana-foundation-sdk's own
model classes (grafana_foundation_sdk.models.dashboard).

The PyPI package ships no JSON schema file (its repository's jsonschema/dashboard.jsonschema.json
is not in the wheel, and CI reaches no other source). Its Python models are generated from the
same schema, and say everything a schema would: each class's fields with their types (the
class annotations), and the JSON name of each (its to_json). This module turns them into a
draft-07 schema: every object closed (additionalProperties false), the fields typed without
Optional required, enums and Literals as enum, unions as anyOf; a query target (cogvariants.Dataquery, a per-datasource plugin type) and the
panels' plugin options (typed `object`) are left open.

Checked once against the repository's own schema for this Grafana line (branch v11.6.x,
jsonschema/dashboard.jsonschema.json, the build the pinned 1769699379!11.6.0 comes from): the
generated dashboard passes both with no error, and seven broken copies (a string width, an
unknown key at the top and in a panel, no schemaVersion, a variable without a name, refresh 5,
a numeric unit) fail both with one error each.
"""
from __future__ import annotations

import enum
import inspect
import re
import types
import typing

from grafana_foundation_sdk.cog import variants as cogvariants
from grafana_foundation_sdk.models import dashboard as model

_KEY = re.compile(r'"(\w+)":\s*self\.(\w+)|payload\["(\w+)"\]\s*=\s*self\.(\w+)')


def json_names(cls: type) -> dict[str, str]:
    """attribute -> JSON key, read from the class's to_json."""
    names = {}
    for m in _KEY.finditer(inspect.getsource(cls.to_json)):
        key, attr = (m.group(1), m.group(2)) if m.group(1) else (m.group(3), m.group(4))
        names[attr] = key
    return names


def _optional(t) -> bool:
    origin = typing.get_origin(t)
    return (origin is typing.Union or origin is types.UnionType) and type(None) in typing.get_args(t)


class _Builder:
    def __init__(self, module: types.ModuleType) -> None:
        self.module = module
        self.defs: dict[str, dict] = {}

    def ref(self, cls: type) -> dict:
        name = cls.__name__
        if name not in self.defs:
            self.defs[name] = {}  # placeholder against recursion
            self.defs[name] = self.object(cls)
        return {"$ref": f"#/definitions/{name}"}

    def object(self, cls: type) -> dict:
        hints = typing.get_type_hints(cls, vars(self.module))
        names = json_names(cls)
        props = {names[a]: self.type(t) for a, t in hints.items() if a in names}
        # A field typed without Optional is one the schema requires (Dashboard: schemaVersion,
        # templating, annotations; Panel: type; GridPos: h, w, x, y; ...).
        required = [names[a] for a, t in hints.items() if a in names and not _optional(t)]
        out = {"type": "object", "properties": props, "additionalProperties": False}
        return {**out, "required": required} if required else out

    def type(self, t) -> dict:
        origin, args = typing.get_origin(t), typing.get_args(t)
        if origin is typing.Union or origin is types.UnionType:
            options = [self.type(a) for a in args if a is not type(None)]
            return options[0] if len(options) == 1 else {"anyOf": options}
        if origin is typing.Literal:
            return {"enum": list(args)}
        if origin is list:
            return {"type": "array", "items": self.type(args[0]) if args else {}}
        if origin is dict:
            return {"type": "object", "additionalProperties": self.type(args[1]) if args else {}}
        if t is typing.Any or t is object or (isinstance(t, type) and issubclass(t, cogvariants.Dataquery)):
            return {}
        if t is bool:
            return {"type": "boolean"}
        if t is int:
            return {"type": "integer"}
        if t is float:
            return {"type": "number"}
        if t is str:
            return {"type": "string"}
        if isinstance(t, type) and issubclass(t, enum.Enum):
            return {"enum": [m.value for m in t]}
        if isinstance(t, type) and hasattr(t, "to_json"):
            return self.ref(t)
        raise TypeError(f"no JSON Schema for the SDK type {t!r}")


def dashboard_schema() -> dict:
    b = _Builder(model)
    root = b.object(model.Dashboard)
    return {"$schema": "http://json-schema.org/draft-07/schema#", "title": "Grafana dashboard "
            "(from grafana_foundation_sdk.models.dashboard)", **root, "definitions": b.defs}
