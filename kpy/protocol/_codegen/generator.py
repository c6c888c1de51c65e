"""kpy's message code generator: Kafka's JSON message schemas in, Python modules out.

    python -m kpy.protocol._codegen [--schemas DIR] [--check]

Every schema under DIR/messages becomes part of one module per API in
kpy/protocol/messages/ (request and response together), the API table becomes
kpy/protocol/api_keys.py and the internal-topic record schemas become
kpy/protocol/internal.py. Only facts (names, types, versions, defaults, tags) are taken
from the schemas; their descriptive text is not carried over.
"""

from __future__ import annotations

import json
import keyword
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

PROTOCOL_DIR = Path(__file__).resolve().parent.parent
REPO_ROOT = PROTOCOL_DIR.parent.parent
DEFAULT_SCHEMAS = REPO_ROOT.parent / "shared" / "kafka-protocol"
MAX_VERSION = 32767

# KIP-896: the oldest version Kafka 4.0 still accepts, per API key (absent: the schema's min).
KAFKA4_FLOORS = {
    0: 3,
    1: 4,
    2: 1,
    8: 2,
    9: 1,
    19: 2,
    20: 1,
    21: 0,
    23: 2,
    32: 1,
    33: 0,
    35: 1,
    11: 2,
    12: 0,
    13: 0,
    14: 0,
    10: 0,
    15: 0,
    16: 0,
    22: 0,
    24: 0,
    25: 0,
    26: 0,
    28: 0,
    36: 0,
    37: 0,
    42: 0,
    43: 0,
    44: 0,
}

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
    s = re.sub(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", "_", name).lower()
    return s + "_" if keyword.iskeyword(s) or s in ("self", "version", "r", "w", "cls") else s


def parse_default(ftype: str, raw: object, nullable: bool) -> object:
    if ftype.startswith("[]"):
        return None if raw == "null" else []
    if raw is None or raw == "":
        if ftype == "string":
            return ""
        return _type_default(ftype, nullable)
    if raw == "null":
        return None
    if ftype == "bool":
        return str(raw).lower() == "true"
    if ftype in ("int8", "int16", "uint16", "int32", "uint32", "int64"):
        text = str(raw)
        return int(text, 16) if text.lower().startswith(("0x", "-0x")) else int(text)
    if ftype == "float64":
        return float(str(raw))
    if ftype == "string":
        return str(raw)
    return _type_default(ftype, nullable)


def _type_default(ftype: str, nullable: bool) -> object:
    if ftype == "bool":
        return False
    if ftype in ("int8", "int16", "uint16", "int32", "uint32", "int64"):
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


def load_message(path: Path, common_cache: dict | None = None) -> Message:
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
        f.default = parse_default(ftype, fj.get("default"), not nullable.empty)
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


# -- rendering ---------------------------------------------------------------------------------

_SIMPLE = {
    "bool": "boolean",
    "int8": "int8",
    "int16": "int16",
    "uint16": "uint16",
    "int32": "int32",
    "uint32": "uint32",
    "int64": "int64",
    "float64": "float64",
    "uuid": "uuid",
}


class Renderer:
    def __init__(self, msg: Message) -> None:
        self.msg = msg
        self.lines: list[str] = []

    def emit(self, indent: int, text: str) -> None:
        self.lines.append("    " * indent + text if text else "")

    # Which encoding a field uses in the versions it can be read at.
    def _flex_mode(self, f: Field, present: Versions, in_tagged: bool) -> str:
        """'always', 'never' or 'cond' for compact encoding within ``present`` versions."""
        if in_tagged:
            return "always"
        flex = f.flexible_override if f.flexible_override is not None else self.msg.flexible
        if flex.empty:
            return "never"
        both = present.intersect(flex)
        if both.empty:
            return "never"
        if both == present:
            return "always"
        return "cond"

    def _nullable(self, f: Field, present: Versions) -> bool:
        return not f.nullable.intersect(present).empty

    def _prim_reader(self, ftype: str, compact: bool, nullable: bool) -> str:
        if ftype in _SIMPLE:
            return f"r.{_SIMPLE[ftype]}()"
        if ftype == "string":
            base = "nullable_string" if nullable else "string"
        elif ftype == "bytes":
            base = "nullable_bytes" if nullable else "bytes_"
        elif ftype == "records":
            base = "records"
        else:
            raise ValueError(ftype)
        return f"r.{'compact_' + base.rstrip('_') if compact else base}()"

    def _prim_writer(self, ftype: str, compact: bool, nullable: bool, value: str, w: str) -> str:
        if ftype in _SIMPLE:
            return f"{w}.{_SIMPLE[ftype]}({value})"
        if ftype == "string":
            base = "nullable_string" if nullable else "string"
        elif ftype == "bytes":
            base = "nullable_bytes" if nullable else "bytes_"
        else:
            base = "records"
        return f"{w}.{'compact_' + base.rstrip('_') if compact else base}({value})"

    def read_expr(self, f: Field, compact: bool) -> list[str]:
        """Statements that set ``v`` from reader r for one compactness."""
        nullable = self._nullable(f, f.versions)
        if f.is_array:
            n = "r.compact_array_len()" if compact else "r.array_len()"
            if f.struct is not None:
                elem = f"{f.struct.pyname}._read(r, version)"
            else:
                elem = self._prim_reader(f.elem, compact, False)
            return [f"n = {n}", f"v = None if n < 0 else [{elem} for _ in range(n)]"]
        if f.struct is not None:
            if nullable:
                return [f"v = None if r.int8() < 0 else {f.struct.pyname}._read(r, version)"]
            return [f"v = {f.struct.pyname}._read(r, version)"]
        return [f"v = {self._prim_reader(f.type, compact, nullable)}"]

    def write_stmts(self, f: Field, compact: bool, value: str, w: str) -> list[str]:
        nullable = self._nullable(f, f.versions)
        if f.is_array:
            lines = [f"{w}.{'compact_array_len' if compact else 'array_len'}({value})"]
            if f.struct is not None:
                body = f"e._write({w}, version)"
            else:
                body = self._prim_writer(f.elem, compact, False, "e", w)
            lines.append(f"if {value} is not None:")
            lines.append(f"    for e in {value}:")
            lines.append(f"        {body}")
            return lines
        if f.struct is not None:
            if nullable:
                return [
                    f"if {value} is None:",
                    f"    {w}.int8(-1)",
                    "else:",
                    f"    {w}.int8(1)",
                    f"    {value}._write({w}, version)",
                ]
            return [f"{value}._write({w}, version)"]
        return [self._prim_writer(f.type, compact, nullable, value, w)]

    def default_expr(self, f: Field) -> str:
        d = f.default
        if f.is_array:
            return "None" if d is None else "[]"
        if f.struct is not None:
            if self._nullable(f, f.versions) and d is None:
                return "None"
            return f"{f.struct.pyname}()"
        if d == "UUID0":
            return "ZERO_UUID"
        return repr(d)

    def default_compare(self, f: Field, value: str) -> str:
        """A condition true when ``value`` differs from the field's default."""
        d = f.default
        if f.is_array:
            return f"{value} is not None" if d is None else f"{value}"
        if f.struct is not None:
            if d is None and self._nullable(f, f.versions):
                return f"{value} is not None"
            return f"{value} != {f.struct.pyname}()"
        return f"{value} != {self.default_expr(f)}"

    def render_struct(self, st: Struct, top: bool) -> None:
        msg = self.msg
        valid = msg.valid
        regular = [f for f in st.fields if f.tag is None]
        tagged = [f for f in st.fields if f.tag is not None]
        attrs = [f.attr for f in st.fields]
        base = "Struct"
        self.emit(0, f"class {st.pyname}({base}):")
        self.emit(
            1, f"__slots__ = ({', '.join(repr(a) for a in attrs + ['unknown_tagged_fields'])},)"
        )
        self.emit(1, f"VALID_VERSIONS = ({valid.lo}, {valid.hi})")
        # (attribute, type, versions, nullable versions, tag, tagged versions, struct class)
        self.emit(1, "FIELDS = (")
        for f in st.fields:
            vr = f.versions.intersect(valid)
            nr = f.nullable.intersect(f.versions)
            tr = f.tagged.intersect(f.versions)
            struct_name = repr(f.struct.pyname) if f.struct is not None else "None"
            self.emit(
                2,
                f"({f.attr!r}, {f.type!r}, ({vr.lo}, {vr.hi}), ({nr.lo}, {nr.hi}), "
                f"{f.tag!r}, ({tr.lo}, {tr.hi}), {struct_name}),",
            )
        self.emit(1, ")")
        self.emit(0, "")
        # __init__
        params = ", ".join(f"{f.attr}=_UNSET" for f in st.fields)
        sig = (
            f"self, *, {params}, unknown_tagged_fields=None"
            if params
            else "self, *, unknown_tagged_fields=None"
        )
        self.emit(1, f"def __init__({sig}):")
        for f in st.fields:
            dflt = self.default_expr(f)
            self.emit(2, f"self.{f.attr} = {dflt} if {f.attr} is _UNSET else {f.attr}")
        self.emit(
            2,
            "self.unknown_tagged_fields = [] if unknown_tagged_fields is None else unknown_tagged_fields",
        )
        self.emit(0, "")
        # _read
        self.emit(1, "@classmethod")
        self.emit(1, "def _read(cls, r, version):")
        self.emit(2, "self = cls.__new__(cls)")
        has_flex = not msg.flexible.empty
        if has_flex:
            self.emit(2, f"flex = version >= {msg.flexible.lo}")
        for f in regular:
            present = f.versions.intersect(valid)
            cond = present.cond(valid)
            ind = 2
            if cond is not None:
                self.emit(2, f"if {cond}:")
                ind = 3
            self._emit_read_field(f, present, ind)
            self.emit(ind, f"self.{f.attr} = v")
            if cond is not None:
                self.emit(2, "else:")
                self.emit(3, f"self.{f.attr} = {self.default_expr(f)}")
        for f in tagged:
            self.emit(2, f"self.{f.attr} = {self.default_expr(f)}")
        self.emit(2, "self.unknown_tagged_fields = []")
        if has_flex:
            self.emit(2, "if flex:")
            self.emit(3, "for _ in range(r.uvarint()):")
            self.emit(4, "tag = r.uvarint()")
            self.emit(4, "size = r.uvarint()")
            first = True
            for f in tagged:
                present = f.versions.intersect(f.tagged).intersect(valid)
                cond = present.cond(valid)
                test = f"tag == {f.tag}" + (f" and {cond}" if cond else "")
                self.emit(4, f"{'if' if first else 'elif'} {test}:")
                first = False
                for line in self.read_expr(f, True):
                    self.emit(5, line)
                self.emit(5, f"self.{f.attr} = v")
            self.emit(4, "else:" if not first else "if True:")
            self.emit(5, "self.unknown_tagged_fields.append((tag, bytes(r.raw(size))))")
        self.emit(2, "return self")
        self.emit(0, "")
        # _write
        self.emit(1, "def _write(self, w, version):")
        if has_flex:
            self.emit(2, f"flex = version >= {msg.flexible.lo}")
        for f in regular:
            present = f.versions.intersect(valid)
            cond = present.cond(valid)
            ind = 2
            if cond is not None:
                self.emit(2, f"if {cond}:")
                ind = 3
            self._emit_write_field(f, present, ind, f"self.{f.attr}", "w")
            if (
                cond is not None
                and self.msg.kind == "request"
                and not f.ignorable
                and (f.struct is None or f.is_array)
            ):
                self.emit(2, f"elif {self.default_compare(f, 'self.' + f.attr)}:")
                self.emit(
                    3,
                    f"raise UnsupportedVersion({f.attr!r} + ' cannot be set at version ' + str(version))",
                )
        if has_flex:
            self.emit(2, "if flex:")
            if not tagged:
                self.emit(3, "write_tagged(w, self.unknown_tagged_fields)")
            else:
                self.emit(3, "tagged = list(self.unknown_tagged_fields)")
                for f in tagged:
                    present = f.versions.intersect(f.tagged).intersect(valid)
                    cond = present.cond(valid)
                    test = self.default_compare(f, f"self.{f.attr}")
                    if cond:
                        test = f"{cond} and {test}"
                    self.emit(3, f"if {test}:")
                    self.emit(4, "t = Writer()")
                    for line in self.write_stmts(f, True, f"self.{f.attr}", "t"):
                        self.emit(4, line)
                    self.emit(4, f"tagged.append(({f.tag}, t))")
                self.emit(3, "write_tagged(w, tagged)")
        if not regular and not has_flex:
            self.emit(2, "pass")
        self.emit(0, "")
        self.emit(0, "")

    def _compact_matters(self, f: Field) -> bool:
        return f.is_array or f.type in ("string", "bytes", "records")

    def _emit_read_field(self, f: Field, present: Versions, ind: int) -> None:
        mode = self._flex_mode(f, present, False) if self._compact_matters(f) else "never"
        if mode == "cond":
            flex = f.flexible_override if f.flexible_override is not None else self.msg.flexible
            self.emit(ind, f"if version >= {flex.lo}:")
            for line in self.read_expr(f, True):
                self.emit(ind + 1, line)
            self.emit(ind, "else:")
            for line in self.read_expr(f, False):
                self.emit(ind + 1, line)
        else:
            for line in self.read_expr(f, mode == "always"):
                self.emit(ind, line)

    def _emit_write_field(self, f: Field, present: Versions, ind: int, value: str, w: str) -> None:
        mode = self._flex_mode(f, present, False) if self._compact_matters(f) else "never"
        if mode == "cond":
            flex = f.flexible_override if f.flexible_override is not None else self.msg.flexible
            self.emit(ind, f"if version >= {flex.lo}:")
            for line in self.write_stmts(f, True, value, w):
                self.emit(ind + 1, line)
            self.emit(ind, "else:")
            for line in self.write_stmts(f, False, value, w):
                self.emit(ind + 1, line)
        else:
            for line in self.write_stmts(f, mode == "always", value, w):
                self.emit(ind, line)

    def render(self) -> list[str]:
        for st in self.msg.structs:
            self.render_struct(st, False)
        self.render_struct(self.msg.top, True)
        for st in self.msg.structs:
            self.emit(0, f"{self.msg.top.pyname}.{st.name} = {st.pyname}")
        self.emit(0, "")
        self.emit(0, "")
        return self.lines


HEADER = """# GENERATED by `make generate` (kpy.protocol._codegen) from Kafka's {sources}.
# Do not edit: change the generator and regenerate.
"""

IMPORTS = """
from kpy.protocol.primitives import (
    ZERO_UUID,
    Struct,
    UnsupportedVersion,
    Writer,
    write_tagged,
)

_UNSET = object()


"""


def module_text(messages: list[Message], sources: list[str]) -> str:
    out = [HEADER.format(sources=", ".join(sources)), IMPORTS]
    body: list[str] = []
    for m in messages:
        body.extend(Renderer(m).render())
    text = "".join(out) + "\n".join(body)
    return text.rstrip() + "\n"


def api_module_name(msg_name: str) -> str:
    base = re.sub(r"(Request|Response)$", "", msg_name)
    return snake(base).rstrip("_")


# -- whole outputs -------------------------------------------------------------------------------


def load_all(schemas: Path) -> tuple[list[Message], list[Message]]:
    messages = [load_message(p) for p in sorted((schemas / "messages").glob("*.json"))]
    internal_dir = schemas / "internal-topics"
    internal = (
        [load_message(p) for p in sorted(internal_dir.glob("*.json"))]
        if internal_dir.exists()
        else []
    )
    return messages, internal


def render_all(schemas: Path) -> dict[Path, str]:
    messages, internal = load_all(schemas)
    files: dict[Path, str] = {}
    groups: dict[str, list[Message]] = {}
    for m in messages:
        if m.kind in ("request", "response"):
            groups.setdefault(api_module_name(m.name), []).append(m)
        elif m.kind == "header":
            groups.setdefault(snake(m.name), []).append(m)
    msg_dir = PROTOCOL_DIR / "messages"
    for mod, ms in sorted(groups.items()):
        ms.sort(key=lambda m: (m.kind != "request", m.name))
        files[msg_dir / f"{mod}.py"] = module_text(ms, [m.source for m in ms])
    files[msg_dir / "__init__.py"] = (
        HEADER.format(sources="message schemas")
        + '"""Generated Kafka message classes, one module per API."""\n'
    )
    files[PROTOCOL_DIR / "internal.py"] = module_text(internal, ["internal-topics/*.json"])
    files[PROTOCOL_DIR / "api_keys.py"] = render_api_keys(messages)
    return files


def render_api_keys(messages: list[Message]) -> str:
    requests = {m.api_key: m for m in messages if m.kind == "request" and m.api_key is not None}
    responses = {m.api_key: m for m in messages if m.kind == "response" and m.api_key is not None}
    lines = [
        HEADER.format(
            sources="message schemas (apiKey, validVersions, flexibleVersions, listeners)"
        )
    ]
    lines.append('''"""The Kafka API table: key -> name, classes, schema version range, flexible versions."""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any

API_VERSIONS_KEY = 18


@dataclass(frozen=True, slots=True)
class ApiInfo:
    key: int
    name: str
    module: str
    schema_min: int
    schema_max: int  # newest stable version
    flexible_min: int | None
    kafka4_min: int
    listeners: tuple[str, ...]

    @property
    def request_class(self) -> Any:
        return getattr(importlib.import_module(f"kpy.protocol.messages.{self.module}"), f"{self.name}Request")

    @property
    def response_class(self) -> Any:
        return getattr(importlib.import_module(f"kpy.protocol.messages.{self.module}"), f"{self.name}Response")

    def is_flexible(self, version: int) -> bool:
        return self.flexible_min is not None and version >= self.flexible_min


API_KEYS: dict[int, ApiInfo] = {''')
    for key in sorted(requests):
        req = requests[key]
        name = re.sub(r"Request$", "", req.name)
        hi = req.valid.hi - (1 if req.unstable_latest else 0)
        flex = None if req.flexible.empty else req.flexible.lo
        floor = max(KAFKA4_FLOORS.get(key, req.valid.lo), req.valid.lo)
        resp = responses[key]
        assert resp.valid == req.valid, name
        lines.append(
            f"    {key}: ApiInfo({key}, {name!r}, {api_module_name(req.name)!r}, {req.valid.lo}, {hi}, "
            f"{flex}, {floor}, {tuple(req.listeners)!r}),"
        )
    lines.append('''}


def request_header_version(api_key: int, api_version: int) -> int:
    """Request header v2 for flexible versions, else v1 (ControlledShutdown v0 used v0)."""
    info = API_KEYS.get(api_key)
    if info is None:
        return 1
    if api_key == 7 and api_version == 0:
        return 0
    return 2 if info.is_flexible(api_version) else 1


def response_header_version(api_key: int, api_version: int) -> int:
    """Response header v1 for flexible versions, else v0; ApiVersions always uses v0."""
    if api_key == API_VERSIONS_KEY:
        return 0
    info = API_KEYS.get(api_key)
    return 1 if info is not None and info.is_flexible(api_version) else 0
''')
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(prog="python -m kpy.protocol._codegen")
    parser.add_argument("--schemas", default=str(DEFAULT_SCHEMAS))
    parser.add_argument("--check", action="store_true", help="fail if generated files are stale")
    args = parser.parse_args(argv)
    schemas = Path(args.schemas)
    if not (schemas / "messages").is_dir():
        print(f"no schemas at {schemas}/messages", file=sys.stderr)
        return 2
    files = render_all(schemas)
    if args.check:
        stale = [p for p, text in files.items() if not p.exists() or p.read_text() != text]
        msg_dir = PROTOCOL_DIR / "messages"
        extra = [p for p in msg_dir.glob("*.py") if p not in files]
        for p in stale + extra:
            print(f"stale: {p.relative_to(REPO_ROOT)}", file=sys.stderr)
        return 1 if stale or extra else 0
    (PROTOCOL_DIR / "messages").mkdir(exist_ok=True)
    for p in (PROTOCOL_DIR / "messages").glob("*.py"):
        if p not in files:
            p.unlink()
    for p, text in files.items():
        if not p.exists() or p.read_text() != text:
            p.write_text(text)
    print(f"generated {len(files)} files from {schemas}")
    return 0
