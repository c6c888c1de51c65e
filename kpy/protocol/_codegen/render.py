"""Render one message schema as straight-line Python: a class per struct plus module-level
``_r_<Class>(buf, pos, version) -> (obj, pos)`` and ``_w_<Class>(obj, b, chunks, version)``.

Fixed-width fields that sit next to each other under the same version condition are read
and written with one precompiled ``struct.Struct``; version checks compile to plain
``if version >= N`` tests; variable-length values go through the small functions in
kpy.protocol.primitives.
"""

from __future__ import annotations

from collections.abc import Callable

from kpy.protocol._codegen.schema import MAX_VERSION, Field, Message, Struct, Versions

# Fixed-width types: struct format character and size.
FIXED = {
    "bool": ("?", 1),
    "int8": ("b", 1),
    "int16": ("h", 2),
    "uint16": ("H", 2),
    "int32": ("i", 4),
    "uint32": ("I", 4),
    "int64": ("q", 8),
    "float64": ("d", 8),
    "uuid": ("16s", 16),
}
VARLEN = ("string", "bytes", "records")


class StructCache:
    """The precompiled struct formats one module needs, named by their format."""

    def __init__(self) -> None:
        self.formats: set[str] = set()

    def name(self, fmt: str) -> str:
        self.formats.add(fmt)
        return "_S_" + fmt.replace("16s", "U").replace("?", "z")

    def preamble(self) -> list[str]:
        out = []
        for fmt in sorted(self.formats):
            n = self.name(fmt)
            out.append(f"{n} = _Struct('>{fmt}')")
            out.append(f"{n}_unpack = {n}.unpack_from")
            out.append(f"{n}_pack = {n}.pack")
        return out


def runs(present: Versions, key: Callable[[int], object]) -> list[tuple[int, int, object]]:
    """Split ``present`` into maximal version runs on which ``key`` is constant."""
    out: list[tuple[int, int, object]] = []
    for v in range(present.lo, present.hi + 1):
        k = key(v)
        if out and out[-1][2] == k:
            out[-1] = (out[-1][0], v, k)
        else:
            out.append((v, v, k))
    return out


class Renderer:
    def __init__(self, msg: Message, structs: StructCache) -> None:
        self.msg = msg
        self.fmt = structs
        self.lines: list[str] = []
        self.valid = msg.valid

    def emit(self, indent: int, text: str) -> None:
        self.lines.append("    " * indent + text if text else "")

    # -- facts about a field ------------------------------------------------------------------

    def present(self, f: Field) -> Versions:
        return f.versions.intersect(self.valid)

    def flexible_at(self, v: int) -> bool:
        return self.msg.flexible.contains(v)

    def compact_at(self, f: Field, v: int) -> bool:
        flex = f.flexible_override if f.flexible_override is not None else self.msg.flexible
        return flex.contains(v)

    def cond(self, versions: Versions) -> str | None:
        return versions.cond(self.valid)

    def default_expr(self, f: Field) -> str:
        d = f.default
        if f.struct is not None and not f.is_array:
            return "None" if d is None else f"{f.struct.pyname}()"
        if isinstance(d, list):
            return "[]"
        if d == "UUID0":
            return "_ZERO_UUID"
        if d == "STRUCT":
            raise AssertionError(f.name)
        return repr(d)

    def differs(self, f: Field, value: str) -> str:
        """A condition true when ``value`` is not the field's default."""
        d = f.default
        if f.is_array:
            return f"{value} is not None" if d is None else f"{value}"
        if d is None:
            return f"{value} is not None"
        if f.struct is not None:
            return f"{value} != _D_{f.struct.pyname}"
        return f"{value} != {self.default_expr(f)}"

    # -- chains of version-dependent variants -------------------------------------------------

    def chain(
        self,
        ind: int,
        present: Versions,
        key: Callable[[int], object],
        body: Callable[[int, object], None],
    ) -> None:
        """Emit ``body`` once per run of versions with equal ``key``, newest run first."""
        parts = runs(present, key)
        if len(parts) == 1:
            body(ind, parts[0][2])
            return
        parts.reverse()
        for i, (lo, _hi, k) in enumerate(parts):
            if i == 0:
                self.emit(ind, f"if version >= {lo}:")
            elif i < len(parts) - 1:
                self.emit(ind, f"elif version >= {lo}:")
            else:
                self.emit(ind, "else:")
            body(ind + 1, k)

    def varkey(self, f: Field, tagged: bool) -> Callable[[int], object]:
        def key(v: int) -> object:
            if f.type in FIXED:
                return (False, False)
            compact = True if tagged else self.compact_at(f, v)
            return (compact, f.nullable.contains(v))

        return key

    # -- reading ------------------------------------------------------------------------------

    def read_value(self, ind: int, f: Field, target: str, compact: bool, nullable: bool) -> None:
        """Statements reading one value of ``f`` at ``pos`` into ``target``."""
        if f.is_array:
            self.read_array(ind, f, target, compact, nullable)
        elif f.struct is not None:
            fn = f"_r_{f.struct.pyname}"
            if nullable:
                self.emit(ind, "if buf[pos] > 127:")
                self.emit(ind + 1, f"{target} = None")
                self.emit(ind + 1, "pos += 1")
                self.emit(ind, "else:")
                self.emit(ind + 1, f"{target}, pos = {fn}(buf, pos + 1, version)")
            else:
                self.emit(ind, f"{target}, pos = {fn}(buf, pos, version)")
        elif f.type in FIXED:
            fmt, size = FIXED[f.type]
            s = self.fmt.name(fmt)
            if f.type == "uuid":
                self.emit(ind, f"{target} = _uuid({s}_unpack(buf, pos)[0])")
            else:
                self.emit(ind, f"{target} = {s}_unpack(buf, pos)[0]")
            self.emit(ind, f"pos += {size}")
        else:
            self.emit(
                ind, f"{target}, pos = {self.var_reader(f.type, compact, nullable)}(buf, pos)"
            )

    @staticmethod
    def var_reader(ftype: str, compact: bool, nullable: bool) -> str:
        if ftype == "records":
            return "_rd_compact_records" if compact else "_rd_records"
        name = ("compact_" if compact else "") + ("nullable_" if nullable else "") + ftype
        return "_rd_" + name

    def read_array(self, ind: int, f: Field, target: str, compact: bool, nullable: bool) -> None:
        if compact:
            self.emit(ind, "n = buf[pos] - 1")
            self.emit(ind, "pos += 1")
            self.emit(ind, "if n > 126:")
            self.emit(ind + 1, "n, pos = _rd_uvarint(buf, pos - 1)")
            self.emit(ind + 1, "n -= 1")
        else:
            self.emit(ind, "n = _S_i_unpack(buf, pos)[0]")
            self.emit(ind, "pos += 4")
            self.fmt.name("i")
        # Every element takes at least one byte, so a longer array is malformed.
        check = "n < 0 or n > len(buf) - pos"
        if nullable:
            self.emit(ind, "if n < 0:")
            self.emit(ind + 1, f"{target} = None")
            self.emit(ind, "else:")
            ind += 1
            check = "n > len(buf) - pos"
        self.emit(ind, f"if {check}:")
        self.emit(ind + 1, "raise _array_len_error(n, pos, len(buf))")
        elem = f.elem
        if f.struct is not None:
            fn = f"_r_{f.struct.pyname}"
            self.emit(ind, "items = []")
            self.emit(ind, "append = items.append")
            self.emit(ind, "for _ in range(n):")
            self.emit(ind + 1, f"item, pos = {fn}(buf, pos, version)")
            self.emit(ind + 1, "append(item)")
            self.emit(ind, f"{target} = items")
        elif elem in FIXED and elem != "uuid":
            fmt, size = FIXED[elem]
            self.emit(ind, f"{target} = list(_unpack_from('>%d{fmt}' % n, buf, pos))")
            self.emit(ind, f"pos += {size} * n")
        else:
            reader = "_rd_uuid" if elem == "uuid" else self.var_reader(elem, compact, False)
            self.emit(ind, "items = []")
            self.emit(ind, "for _ in range(n):")
            self.emit(ind + 1, f"item, pos = {reader}(buf, pos)")
            self.emit(ind + 1, "items.append(item)")
            self.emit(ind, f"{target} = items")

    def groups(self, fields: list[Field]) -> list[list[Field]]:
        """Consecutive fixed-width fields with the same presence, merged into groups."""
        out: list[list[Field]] = []
        for f in fields:
            fixed = f.type in FIXED
            if (
                fixed
                and out
                and out[-1][0].type in FIXED
                and self.present(out[-1][0]) == self.present(f)
            ):
                out[-1].append(f)
            else:
                out.append([f])
        return out

    def render_read(self, st: Struct) -> None:
        msg = self.msg
        regular = [f for f in st.fields if f.tag is None]
        tagged = [f for f in st.fields if f.tag is not None]
        self.emit(0, f"def _r_{st.pyname}(buf, pos, version):")
        self.emit(1, f"o = _new({st.pyname})")
        for group in self.groups(regular):
            present = self.present(group[0])
            c = self.cond(present)
            ind = 1
            if c == "False":
                for f in group:
                    self.emit(1, f"o.{f.attr} = {self.default_expr(f)}")
                continue
            if c is not None:
                self.emit(1, f"if {c}:")
                ind = 2
            if len(group) > 1:
                fmt = "".join(FIXED[f.type][0] for f in group)
                size = sum(FIXED[f.type][1] for f in group)
                targets = ", ".join(f"o.{f.attr}" for f in group)
                self.emit(ind, f"{targets} = {self.fmt.name(fmt)}_unpack(buf, pos)")
                self.emit(ind, f"pos += {size}")
                for f in group:
                    if f.type == "uuid":
                        self.emit(ind, f"o.{f.attr} = _uuid(o.{f.attr})")
            else:
                f = group[0]
                self.chain(
                    ind,
                    present,
                    self.varkey(f, False),
                    lambda i, k, f=f: self.read_value(i, f, f"o.{f.attr}", *k),  # type: ignore[misc]
                )
            if c is not None:
                self.emit(1, "else:")
                for f in group:
                    self.emit(2, f"o.{f.attr} = {self.default_expr(f)}")
        for f in tagged:
            self.emit(1, f"o.{f.attr} = {self.default_expr(f)}")
        self.emit(1, "o.unknown_tagged_fields = unknown = []")
        if not msg.flexible.empty:
            c = self.cond(msg.flexible.intersect(self.valid))
            ind = 1
            if c is not None:
                self.emit(1, f"if {c}:")
                ind = 2
            self.emit(ind, "n = buf[pos]")
            self.emit(ind, "pos += 1")
            self.emit(ind, "if n:")
            self.emit(ind + 1, "if n > 127:")
            self.emit(ind + 2, "n, pos = _rd_uvarint(buf, pos - 1)")
            self.emit(ind + 1, "for _ in range(n):")
            i2 = ind + 2
            self.emit(i2, "tag, pos = _rd_uvarint(buf, pos)")
            self.emit(i2, "size, pos = _rd_uvarint(buf, pos)")
            first = True
            for f in tagged:
                tv = f.tagged.intersect(self.present(f))
                if tv.empty:
                    continue
                c2 = tv.cond(self.msg.flexible.intersect(self.valid))
                test = f"tag == {f.tag}" + (f" and {c2}" if c2 else "")
                self.emit(i2, f"{'if' if first else 'elif'} {test}:")
                first = False
                self.emit(i2 + 1, "end = pos + size")
                self.chain(
                    i2 + 1,
                    tv,
                    self.varkey(f, True),
                    lambda i, k, f=f: self.read_value(i, f, f"o.{f.attr}", *k),  # type: ignore[misc]
                )
                self.emit(i2 + 1, "if pos != end:")
                self.emit(i2 + 2, f"raise _tag_size_error({f.tag}, size, pos - end + size)")
            if first:
                self.emit(i2, "pos = _rd_unknown_tag(buf, pos, tag, size, unknown)")
            else:
                self.emit(i2, "else:")
                self.emit(i2 + 1, "pos = _rd_unknown_tag(buf, pos, tag, size, unknown)")
        self.emit(1, "return o, pos")
        self.emit(0, "")
        self.emit(0, "")

    # -- writing ------------------------------------------------------------------------------

    def write_value(
        self, ind: int, f: Field, value: str, compact: bool, nullable: bool, b: str = "b"
    ) -> None:
        """Statements writing ``value`` (a simple expression) of field ``f`` to buffer ``b``.

        Chunks split off for large records go to ``c`` (``tc`` when writing to ``t``).
        """
        c = "c" if b == "b" else "tc"
        if f.is_array:
            self.write_array(ind, f, value, compact, nullable, b, c)
        elif f.struct is not None:
            fn = f"_w_{f.struct.pyname}"
            if nullable:
                self.emit(ind, f"if {value} is None:")
                self.emit(ind + 1, f"{b}.append(255)")
                self.emit(ind, "else:")
                self.emit(ind + 1, f"{b}.append(1)")
                self.emit(ind + 1, f"{fn}({value}, {b}, {c}, version)")
            else:
                self.emit(ind, f"{fn}({value}, {b}, {c}, version)")
        elif f.type in FIXED:
            fmt = FIXED[f.type][0]
            arg = f"{value}.bytes" if f.type == "uuid" else value
            self.emit(ind, f"{b} += {self.fmt.name(fmt)}_pack({arg})")
        elif f.type == "records":
            self.emit(ind, f"{self.var_writer(f.type, compact, nullable)}({b}, {c}, {value})")
        else:
            self.emit(ind, f"{self.var_writer(f.type, compact, nullable)}({b}, {value})")

    @staticmethod
    def var_writer(ftype: str, compact: bool, nullable: bool) -> str:
        if ftype == "records":
            return "_wr_compact_records" if compact else "_wr_records"
        name = ("compact_" if compact else "") + ("nullable_" if nullable else "") + ftype
        return "_wr_" + name

    def write_array(
        self, ind: int, f: Field, value: str, compact: bool, nullable: bool, b: str, c: str
    ) -> None:
        self.emit(ind, f"v = {value}")
        if nullable:
            self.emit(ind, "if v is None:")
            self.emit(ind + 1, f"{b}.append(0)" if compact else f"{b} += b'\\xff\\xff\\xff\\xff'")
            self.emit(ind, "else:")
            ind += 1
        if compact:
            self.emit(ind, "n = len(v) + 1")
            self.emit(ind, "if n < 128:")
            self.emit(ind + 1, f"{b}.append(n)")
            self.emit(ind, "else:")
            self.emit(ind + 1, f"_wr_uvarint({b}, n)")
        else:
            self.emit(ind, f"{b} += {self.fmt.name('i')}_pack(len(v))")
        elem = f.elem
        if f.struct is not None:
            fn = f"_w_{f.struct.pyname}"
            self.emit(ind, "for item in v:")
            self.emit(ind + 1, f"{fn}(item, {b}, {c}, version)")
        elif elem in FIXED and elem != "uuid":
            fmt = FIXED[elem][0]
            self.emit(ind, "if v:")
            self.emit(ind + 1, f"{b} += _pack('>%d{fmt}' % len(v), *v)")
        else:
            self.emit(ind, "for item in v:")
            if elem == "uuid":
                self.emit(ind + 1, f"{b} += item.bytes")
            else:
                self.emit(ind + 1, f"{self.var_writer(elem, compact, False)}({b}, item)")

    def strict(self, f: Field) -> bool:
        return not f.ignorable and self.msg.kind in ("request", "header")

    def refuse(self, ind: int, st: Struct, f: Field) -> None:
        """A non-ignorable field with a non-default value cannot be silently dropped.

        Enforced for requests and headers, whose meaning would change. Responses and
        internal records are built once for every version a peer may ask for, so fields
        the asked version lacks are dropped, as that peer would never see them anyway.
        """
        if not self.strict(f):
            return
        self.emit(ind, f"if {self.differs(f, 'o.' + f.attr)}:")
        self.emit(ind + 1, f"raise _unsupported({st.pyname!r}, {f.attr!r}, version)")

    def render_write(self, st: Struct) -> None:
        msg = self.msg
        regular = [f for f in st.fields if f.tag is None]
        tagged = [f for f in st.fields if f.tag is not None]
        self.emit(0, f"def _w_{st.pyname}(o, b, c, version):")
        for group in self.groups(regular):
            present = self.present(group[0])
            c = self.cond(present)
            ind = 1
            if c == "False":
                for f in group:
                    self.refuse(1, st, f)
                continue
            if c is not None:
                self.emit(1, f"if {c}:")
                ind = 2
            if len(group) > 1:
                fmt = "".join(FIXED[f.type][0] for f in group)
                args = ", ".join(
                    f"o.{f.attr}.bytes" if f.type == "uuid" else f"o.{f.attr}" for f in group
                )
                self.emit(ind, f"b += {self.fmt.name(fmt)}_pack({args})")
            else:
                f = group[0]
                self.chain(
                    ind,
                    present,
                    self.varkey(f, False),
                    lambda i, k, f=f: self.write_value(i, f, f"o.{f.attr}", *k),  # type: ignore[misc]
                )
            if c is not None and any(self.strict(f) for f in group):
                self.emit(1, "else:")
                for f in group:
                    self.refuse(2, st, f)
        if msg.flexible.empty:
            for f in tagged:
                self.refuse(1, st, f)
            if not st.fields:
                self.emit(1, "pass")
        else:
            flex = msg.flexible.intersect(self.valid)
            c = self.cond(flex)
            ind = 1
            if c is not None:
                self.emit(1, f"if {c}:")
                ind = 2
            if not tagged:
                self.emit(ind, "if o.unknown_tagged_fields:")
                self.emit(ind + 1, "_wr_tags(b, o.unknown_tagged_fields)")
                self.emit(ind, "else:")
                self.emit(ind + 1, "b.append(0)")
            else:
                self.emit(ind, "tags = list(o.unknown_tagged_fields)")
                for f in tagged:
                    tv = f.tagged.intersect(self.present(f))
                    c2 = tv.cond(flex) if not tv.empty else "False"
                    test = self.differs(f, f"o.{f.attr}")
                    if c2 == "False":
                        self.refuse(ind, st, f)
                        continue
                    if c2 is not None:
                        self.emit(ind, f"if not ({c2}):")
                        if not self.strict(f):
                            self.emit(ind + 1, "pass")
                        self.refuse(ind + 1, st, f)
                        self.emit(ind, f"elif {test}:")
                    else:
                        self.emit(ind, f"if {test}:")
                    self.emit(ind + 1, "t = bytearray()")
                    self.chain(
                        ind + 1,
                        tv,
                        self.varkey(f, True),
                        lambda i, k, f=f: self.write_tagged_value(i, f, *k),  # type: ignore[misc]
                    )
                    self.emit(ind + 1, f"tags.append(({f.tag}, t))")
                self.emit(ind, "if tags:")
                self.emit(ind + 1, "_wr_tags(b, tags)")
                self.emit(ind, "else:")
                self.emit(ind + 1, "b.append(0)")
            if c is not None:
                not_flex = [f for f in tagged if self.strict(f)]
                if not_flex:
                    self.emit(1, "else:")
                    for f in not_flex:
                        self.refuse(2, st, f)
        self.emit(0, "")
        self.emit(0, "")

    def write_tagged_value(self, ind: int, f: Field, compact: bool, nullable: bool) -> None:
        # A tagged value goes to its own buffer ``t`` first, for its size prefix.
        self.emit(ind, "tc = []")
        self.write_value(ind, f, f"o.{f.attr}", compact, nullable, b="t")
        self.emit(ind, "if tc:")
        self.emit(ind + 1, "t = bytearray(b''.join(tc)) + t")

    # -- classes ------------------------------------------------------------------------------

    def render_class(self, st: Struct, top: bool) -> None:
        msg = self.msg
        attrs = [f.attr for f in st.fields] + ["unknown_tagged_fields"]
        self.emit(0, f"class {st.pyname}(_Base):")
        self.emit(1, f"__slots__ = ({', '.join(repr(a) for a in attrs)},)")
        if top and msg.api_key is not None:
            self.emit(1, f"API_KEY = {msg.api_key}")
        self.emit(1, f"VALID_VERSIONS = ({self.valid.lo}, {self.valid.hi})")
        flex = msg.flexible.intersect(self.valid)
        self.emit(
            1,
            f"FLEXIBLE_VERSIONS = ({flex.lo}, {flex.hi})"
            if not flex.empty
            else "FLEXIBLE_VERSIONS = None",
        )
        # (attribute, type, versions, nullable versions, tag, tagged versions, struct class)
        self.emit(1, "FIELDS = (")
        for f in st.fields:
            vr = self.present(f)
            nr = f.nullable.intersect(vr)
            tr = f.tagged.intersect(vr)
            sname = repr(f.struct.pyname) if f.struct is not None else "None"
            self.emit(
                2,
                f"({f.attr!r}, {f.type!r}, ({vr.lo}, {vr.hi}), ({nr.lo}, {nr.hi}), "
                f"{f.tag!r}, ({tr.lo}, {tr.hi}), {sname}),",
            )
        self.emit(1, ")")
        self.emit(0, "")
        params = []
        body = []
        for f in st.fields:
            d = self.default_expr(f)
            mutable = d == "[]" or d.endswith("()")
            if mutable:
                params.append(f"{f.attr}=_UNSET")
                body.append(f"self.{f.attr} = {d} if {f.attr} is _UNSET else {f.attr}")
            else:
                params.append(f"{f.attr}={d}")
                body.append(f"self.{f.attr} = {f.attr}")
        params.append("unknown_tagged_fields=None")
        body.append(
            "self.unknown_tagged_fields = [] if unknown_tagged_fields is None "
            "else unknown_tagged_fields"
        )
        self.emit(1, f"def __init__(self, *, {', '.join(params)}):")
        for line in body:
            self.emit(2, line)
        self.emit(0, "")
        self.emit(1, "def __eq__(self, other):")
        self.emit(2, "if type(other) is not type(self):")
        self.emit(3, "return NotImplemented")
        self.emit(2, "return (")
        for a in attrs:
            self.emit(3, f"self.{a} == other.{a}{' and' if a != attrs[-1] else ''}")
        self.emit(2, ")")
        self.emit(0, "")
        self.emit(0, "")

    def all_structs(self) -> list[Struct]:
        return [*self.msg.structs, self.msg.top]

    def render(self) -> list[str]:
        for st in self.msg.structs:
            self.render_class(st, False)
        self.render_class(self.msg.top, True)
        # Default instances of struct-typed fields, to tell a set value from an unset one.
        for st in self.msg.structs:
            if any(f.struct is st and not f.is_array for s in self.all_structs() for f in s.fields):
                self.emit(0, f"_D_{st.pyname} = {st.pyname}()")
        self.emit(0, "")
        self.emit(0, "")
        for st in [*self.msg.structs, self.msg.top]:
            self.render_read(st)
            self.render_write(st)
        for st in [*self.msg.structs, self.msg.top]:
            self.emit(0, f"{st.pyname}._read = staticmethod(_r_{st.pyname})  # type: ignore")
            self.emit(0, f"{st.pyname}._write = _w_{st.pyname}  # type: ignore")
        for st in self.msg.structs:
            self.emit(0, f"{self.msg.top.pyname}.{st.name} = {st.pyname}")
        self.emit(0, "")
        self.emit(0, "")
        return self.lines


__all__ = ["MAX_VERSION", "Renderer", "StructCache"]
