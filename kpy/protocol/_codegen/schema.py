"""The schema model: Kafka's JSON message definitions parsed into messages, structs, fields.

Only facts are read (names, types, version ranges, defaults, tags); "about" text is dropped.
"""

from __future__ import annotations

import json
import keyword
import re
from dataclasses import dataclass, field
from pathlib import Path

MAX_VERSION = 32767

PRIMITIVES = {
    "bool",
    "int8",
    "int16",
    "uint16",
    "int32",
    "uint32",
    "int64",
    "float64",
    "uuid",
    "string",
    "bytes",
    "records",
}


# -- schema model ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Versions:
    lo: int
    hi: int  # inclusive; -1 lo means "none"

    @classmethod
    def parse(cls, text: str | None) -> Versions:
        if text is None or text == "none":
            return cls(-1, -2)
        text = text.strip()
        if text.endswith("+"):
            return cls(int(text[:-1]), MAX_VERSION)
        if "-" in text:
            a, b = text.split("-", 1)
            return cls(int(a), int(b))
        return cls(int(text), int(text))

    @property
    def empty(self) -> bool:
        return self.hi < self.lo

    def intersect(self, other: Versions) -> Versions:
        return Versions(max(self.lo, other.lo), min(self.hi, other.hi))

    def contains(self, v: int) -> bool:
        return self.lo <= v <= self.hi

    def cond(self, valid: Versions, var: str = "version") -> str | None:
        """A Python condition true for versions in self, given valid versions; None if always."""
        lo_needed = self.lo > valid.lo
        hi_needed = self.hi < valid.hi
        if self.empty:
            return "False"
        if lo_needed and hi_needed:
            if self.lo == self.hi:
                return f"{var} == {self.lo}"
            return f"{self.lo} <= {var} <= {self.hi}"
        if lo_needed:
            return f"{var} >= {self.lo}"
        if hi_needed:
            return f"{var} <= {self.hi}"
        return None


@dataclass
class Field:
    name: str
    attr: str
    type: str  # e.g. int32, []Foo, Foo
    versions: Versions
    nullable: Versions
    tagged: Versions
    tag: int | None
    ignorable: bool
    default: object
    flexible_override: Versions | None
    struct: Struct | None = None
    schema_default: object = None  # the schema's "default" as written (None when it has none)

    @property
    def is_array(self) -> bool:
        return self.type.startswith("[]")

    @property
    def elem(self) -> str:
        return self.type[2:] if self.is_array else self.type


@dataclass
class Struct:
    name: str
    fields: list[Field] = field(default_factory=list)
    pyname: str = ""


@dataclass
class Message:
    name: str
    kind: str
    api_key: int | None
    valid: Versions
    flexible: Versions
    top: Struct
    structs: list[Struct]  # nested, in dependency order (inner first)
    listeners: list[str]
    unstable_latest: bool
    source: str


def strip_comments(text: str) -> str:
    out = []
    i, n = 0, len(text)
    in_str = False
    while i < n:
        c = text[i]
        if in_str:
            out.append(c)
            if c == "\\":
                out.append(text[i + 1])
                i += 1
            elif c == '"':
                in_str = False
        elif c == '"':
            in_str = True
            out.append(c)
        elif text.startswith("//", i):
            while i < n and text[i] != "\n":
                i += 1
            continue
        else:
            out.append(c)
        i += 1
    return "".join(out)


def snake(name: str) -> str:
    """CamelCase schema name -> snake_case attribute; a Python keyword gets a trailing _."""
    s = re.sub(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", "_", name).lower()
    return s + "_" if keyword.iskeyword(s) else s


INT_TYPES = ("int8", "int16", "uint16", "int32", "uint32", "int64")


def parse_default(ftype: str, raw: object, always_nullable: bool) -> object:
    """The field's default as a Python value; "UUID0" and "STRUCT" stand for fresh objects.

    Without a schema default, a field nullable in every version it exists in defaults to
    None (the kpy contract); otherwise to the type's zero value.
    """
    if raw == "null":
        return None
    if raw is None or (raw == "" and ftype != "string"):
        if always_nullable:
            return None
        return _type_default(ftype)
    text = str(raw).strip().lower() if isinstance(raw, bool) else str(raw).strip()
    if ftype == "bool":
        if text not in ("true", "false"):
            raise ValueError(f"bad bool default {raw!r}")
        return text == "true"
    if ftype in INT_TYPES:
        negative = text.startswith("-")
        digits = text[1:] if negative else text
        if digits.lower().startswith("0x"):
            value = int(digits, 16)
        elif len(digits) > 1 and digits.startswith("0"):
            value = int(digits, 8)
        else:
            value = int(digits)
        return -value if negative else value
    if ftype == "float64":
        return float(text)
    if ftype == "string":
        return str(raw)
    raise ValueError(f"a {ftype} field cannot have default {raw!r}")


def _type_default(ftype: str) -> object:
    if ftype.startswith("[]"):
        return []
    if ftype == "bool":
        return False
    if ftype in INT_TYPES:
        return 0
    if ftype == "float64":
        return 0.0
    if ftype == "string":
        return ""
    if ftype == "uuid":
        return "UUID0"
    if ftype == "bytes":
        return b""
    if ftype == "records":
        return None
    return "STRUCT"


def load_message(path: Path) -> Message:
    data = json.loads(strip_comments(path.read_text()))
    valid = Versions.parse(data["validVersions"])
    flexible = Versions.parse(data.get("flexibleVersions", "none"))
    structs: list[Struct] = []
    common_defs = {c["name"]: c for c in data.get("commonStructs", [])}
    built_common: dict[str, Struct] = {}

    def build_struct(name: str, fields_json: list[dict]) -> Struct:
        st = Struct(name)
        for fj in fields_json:
            st.fields.append(build_field(fj))
        structs.append(st)
        return st

    def build_field(fj: dict) -> Field:
        ftype = fj["type"]
        versions = Versions.parse(fj.get("versions"))
        nullable = Versions.parse(fj.get("nullableVersions"))
        tagged = Versions.parse(fj.get("taggedVersions")) if "tag" in fj else Versions(-1, -2)
        f = Field(
            name=fj["name"],
            attr=snake(fj["name"]),
            type=ftype,
            versions=versions,
            nullable=nullable,
            tagged=tagged,
            tag=fj.get("tag"),
            ignorable=bool(fj.get("ignorable", False)),
            default=None,
            flexible_override=Versions.parse(fj["flexibleVersions"])
            if "flexibleVersions" in fj
            else None,
        )
        elem = f.elem
        if "fields" in fj:
            f.struct = build_struct(elem, fj["fields"])
        elif elem in common_defs:
            if elem not in built_common:
                built_common[elem] = build_struct(elem, common_defs[elem]["fields"])
            f.struct = built_common[elem]
        elif elem not in PRIMITIVES:
            raise ValueError(f"{path.name}: unknown type {ftype} of {fj['name']}")
        present = versions
        always_nullable = not present.empty and nullable.intersect(present) == present
        f.default = parse_default(ftype, fj.get("default"), always_nullable)
        f.schema_default = fj.get("default")
        return f

    # Common structs first so that fields referring to them find them.
    for cname, cdef in common_defs.items():
        if cname not in built_common:
            built_common[cname] = build_struct(cname, cdef["fields"])
    top = Struct(data["name"])
    for fj in data["fields"]:
        top.fields.append(build_field(fj))
    for st in structs:
        st.pyname = f"{data['name']}_{st.name}"
    top.pyname = data["name"]
    return Message(
        name=data["name"],
        kind=data["type"],
        api_key=data.get("apiKey"),
        valid=valid,
        flexible=flexible,
        top=top,
        structs=structs,
        listeners=list(data.get("listeners", [])),
        unstable_latest=bool(data.get("latestVersionUnstable", False)),
        source=path.name,
    )
