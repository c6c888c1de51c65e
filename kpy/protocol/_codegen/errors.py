"""Render each request's ``error_response(version, code)``: the response answering every part
of the request with one error code, as Kafka's ``getErrorResponse`` builds it.

The shape comes from the schemas:

- every int16 field named ``error_code`` or ``..._error_code`` on the wire at the version
  carries ``code``;
- a response array whose items carry an error code (themselves or further down) is mirrored
  from the request array it answers, one item per requested item: the request array of the
  same name, else the one request array whose items share an identity field with the
  response's (a name, an id, a partition index), or whose plain values (group ids, partition
  indexes) fit the item's first field of that type; each item copies those identity fields;
- mirroring stops at a struct that carries an error code of its own: the top-level error code
  answers for the whole request, a group's error code for its topics;
- fields left out get Kafka's defaults, which differ from kpy's only for fields nullable in
  every version without a schema default (Kafka: an empty list or string, kpy: None).

The APIs whose getErrorResponse differs from these rules (read from Kafka 4.4's classes) are
in the tables below.
"""

from __future__ import annotations

from kpy.protocol._codegen.schema import Field, Message, Struct, Versions

PARTITION_NAMES = ("partition_index", "partition", "index", "partition_id")
IDENTITY_INTS = {*PARTITION_NAMES, "resource_type"}

# (response struct, response array) -> the request arrays it mirrors, each with the versions
# it does (None: wherever both exist); [] leaves the array empty.
MIRROR: dict[tuple[str, str], list[tuple[str, Versions | None]]] = {
    # Fetch names its topics as ``topics`` (also ``forgotten_topics_data``); from v13 Kafka
    # answers a failed fetch with the top-level error alone.
    ("FetchResponse", "responses"): [("topics", Versions(0, 12))],
}

# Responses whose arrays are mirrored under a top-level error code too (Kafka sets both).
THROUGH_TOP_ERROR = {"FetchResponse", "ElectLeadersResponse"}

# Values Kafka's getErrorResponse sets that are not the schema defaults: Python expressions
# of ``src`` (the request item answered) and ``version``.
VALUES: dict[str, dict[str, str]] = {
    "ProduceResponse_PartitionProduceResponse": {"base_offset": "-1"},
    "FetchResponse": {"session_id": "src.session_id"},
    # A topic asked by id alone is answered with the name "", also where null could be sent.
    "MetadataResponse_MetadataResponseTopic": {"name": "src.name if src.name is not None else ''"},
    "FetchResponse_PartitionData": {"high_watermark": "-1", "records": "b''"},
    "OffsetFetchResponse_OffsetFetchResponsePartition": {"committed_offset": "-1"},
    "FindCoordinatorResponse": {"node_id": "-1", "port": "-1"},
    "FindCoordinatorResponse_Coordinator": {"node_id": "-1", "port": "-1"},
    "JoinGroupResponse": {"protocol_name": "None if version >= 7 else ''"},
    "DeleteRecordsResponse_DeleteRecordsPartitionResult": {"low_watermark": "-1"},
    "InitProducerIdResponse": {"producer_id": "-1", "producer_epoch": "-1"},
    # Kafka's ApiError of a bare code has no message (the schema's default is "").
    "CreateTopicsResponse_CreatableTopicResult": {"error_message": "None"},
    "AlterConfigsResponse_AlterConfigsResourceResponse": {"error_message": "None"},
    "IncrementalAlterConfigsResponse_AlterConfigsResourceResponse": {"error_message": "None"},
    "ElectLeadersResponse_PartitionResult": {"error_message": "None"},
}


def is_error_code(f: Field) -> bool:
    return (
        f.type == "int16"
        and f.tag is None  # a tagged one (CreateTopics' topic config error) stays unset
        and (f.attr == "error_code" or f.attr.endswith("_error_code"))
    )


class ErrorRenderer:
    """The error_response of one request/response pair, as module-level builder functions
    ``_e_<ResponseStruct>[__<source>](src, version, code)``, attached to the request class."""

    def __init__(self, request: Message, response: Message) -> None:
        self.req = request
        self.resp = response
        self.all = frozenset(range(request.valid.lo, request.valid.hi + 1))
        self.lines: list[str] = []
        self.done: set[str] = set()

    # -- facts -----------------------------------------------------------------------------------

    def wire(self, f: Field) -> frozenset[int]:
        """The versions at which response field ``f`` is encoded."""
        vs = {v for v in self.all if f.versions.contains(v)}
        if f.tag is not None:
            vs = {v for v in vs if f.tagged.contains(v) and self.resp.flexible.contains(v)}
        return frozenset(vs)

    def present(self, g: Field) -> frozenset[int]:
        return frozenset(v for v in self.all if g.versions.contains(v))

    def carries_error(self, st: Struct) -> bool:
        return any(
            is_error_code(f) or (f.struct is not None and self.carries_error(f.struct))
            for f in st.fields
        )

    def own_error(self, st: Struct) -> frozenset[int]:
        out: set[int] = set()
        for f in st.fields:
            if is_error_code(f) and not f.is_array:
                out |= self.wire(f)
        return frozenset(out)

    def copies(self, st: Struct, src: Struct) -> list[tuple[Field, Field]]:
        """(response field, request field) pairs of identity values an item copies."""
        out = []
        for f in st.fields:
            if f.is_array or f.struct is not None or is_error_code(f):
                continue
            if f.type not in ("string", "uuid") and f.attr not in IDENTITY_INTS:
                continue
            same = [g for g in src.fields if g.attr == f.attr and g.type == f.type]
            if not same and f.attr in PARTITION_NAMES:
                same = [g for g in src.fields if g.attr in PARTITION_NAMES and g.type == f.type]
            if same and not same[0].is_array and same[0].struct is None:
                out.append((f, same[0]))
        return out

    def key_field(self, st: Struct, elem: str) -> Field | None:
        """The item field a plain request value (a group id, a partition index) fills."""
        for f in st.fields:
            if f.is_array or f.type != elem or is_error_code(f):
                continue
            if elem == "int32" and f.attr in PARTITION_NAMES:
                return f
            if elem in ("string", "uuid") and "error" not in f.attr and "message" not in f.attr:
                return f
        return None

    def fits(self, g: Field, st: Struct) -> bool:
        if g.struct is not None:
            return bool(self.copies(st, g.struct))
        return self.key_field(st, g.elem) is not None

    def sources(
        self, owner: Struct, f: Field, src: Struct, top: bool
    ) -> list[tuple[Field, frozenset[int]]]:
        """The request arrays response array ``f`` of ``owner`` mirrors, with their versions."""
        assert f.struct is not None
        wanted = self.wire(f)
        if top and owner.pyname in THROUGH_TOP_ERROR:
            stop: frozenset[int] = frozenset()
        else:
            stop = self.own_error(owner)
        by_attr = {g.attr: g for g in src.fields if g.is_array}
        override = MIRROR.get((owner.pyname, f.attr))
        picked: list[tuple[Field, frozenset[int]]] = []
        if override is not None:
            for attr, versions in override:
                vs = self.present(by_attr[attr])
                if versions is not None:
                    vs = frozenset(v for v in vs if versions.contains(v))
                picked.append((by_attr[attr], vs))
        elif self.carries_error(f.struct):
            fitting = [g for g in by_attr.values() if self.fits(g, f.struct)]
            same = [g for g in fitting if g.attr == f.attr]
            picked = [(g, self.present(g)) for g in same or fitting]
        out = [(g, (vs & wanted) - stop) for g, vs in picked]
        out = [(g, vs) for g, vs in out if vs]
        for i, (g, vs) in enumerate(out):
            for h, other in out[i + 1 :]:
                if vs & other:
                    raise ValueError(
                        f"{owner.pyname}.{f.attr} could mirror {g.attr} or {h.attr}: "
                        "name one in errors.MIRROR"
                    )
        return out

    # -- code ------------------------------------------------------------------------------------

    def cond(self, vs: frozenset[int]) -> str | None:
        if vs == self.all:
            return None
        lo, hi = min(vs), max(vs)
        if hi - lo + 1 == len(vs):
            return Versions(lo, hi).cond(Versions(min(self.all), max(self.all)))
        return f"version in {tuple(sorted(vs))}"

    @staticmethod
    def kafka_default(f: Field) -> str | None:
        """Kafka's default where it is not kpy's: a field nullable in every version it has and
        no schema default is None in kpy, empty in Kafka (records stay null in both)."""
        if f.default is not None or f.schema_default is not None or f.type == "records":
            return None
        if f.is_array:
            return "[]"
        if f.struct is not None:
            return f"{f.struct.pyname}()"
        return {"string": "''", "bytes": "b''"}.get(f.type)

    def builder(self, st: Struct, src: Struct | str, top: bool = False) -> str:
        """The name of the function building ``st`` from ``src`` (a request struct, or the
        type of a plain request value), rendered on first use."""
        if top:
            name = f"_e_{st.pyname}"
        else:
            tail = src if isinstance(src, str) else src.name
            name = f"_e_{st.pyname}__{tail}"
        if name in self.done:
            return name
        self.done.add(name)
        body: list[tuple[frozenset[int], str]] = []
        values = VALUES.get(st.pyname, {})
        pairs = self.copies(st, src) if isinstance(src, Struct) and not top else []
        copied = {id(f): g for f, g in pairs}
        key = self.key_field(st, src) if isinstance(src, str) else None
        for f in st.fields:
            wire = self.wire(f)
            if not wire:
                continue
            if f.attr in values:
                body.append((wire, f"o.{f.attr} = {values[f.attr]}"))
            elif is_error_code(f):
                body.append((wire, f"o.{f.attr} = code"))
            elif f is key:
                body.append((wire, f"o.{f.attr} = src"))
            elif id(f) in copied:
                body += self.copy_lines(f, copied[id(f)], wire)
            elif f.is_array and f.struct is not None and isinstance(src, Struct):
                mirrored = self.sources(st, f, src, top)
                for g, vs in mirrored:
                    inner = self.builder(f.struct, g.struct if g.struct is not None else g.elem)
                    items = f"src.{g.attr}"
                    if not g.nullable.intersect(g.versions).empty:
                        items = f"({items} or ())"
                    body.append((vs, f"o.{f.attr} = [{inner}(s, version, code) for s in {items}]"))
                if not mirrored and (d := self.kafka_default(f)) is not None:
                    body.append((wire, f"o.{f.attr} = {d}"))
            elif (d := self.kafka_default(f)) is not None:
                body.append((wire, f"o.{f.attr} = {d}"))
        out = [f"def {name}(src, version, code):", f"    o = {st.pyname}()"]
        for vs, line in body:
            c = self.cond(vs)
            if c is None:
                out.append(f"    {line}")
            else:
                out += [f"    if {c}:", f"        {line}"]
        out += ["    return o", "", ""]
        self.lines += out
        return name

    def copy_lines(
        self, f: Field, g: Field, wire: frozenset[int]
    ) -> list[tuple[frozenset[int], str]]:
        """Response field ``f`` copied from request field ``g``: a null where the answer cannot
        carry one is answered as "" (Kafka's default), elsewhere as null."""
        value = f"src.{g.attr}"
        if g.nullable.intersect(g.versions).empty:
            return [(wire, f"o.{f.attr} = {value}")]
        nullable = frozenset(v for v in wire if f.nullable.contains(v))
        out = []
        if wire - nullable:
            out.append((wire - nullable, f"o.{f.attr} = {value} if {value} is not None else ''"))
        if nullable:
            out.append((nullable, f"o.{f.attr} = {value}"))
        return out

    def render(self) -> list[str]:
        top = self.builder(self.resp.top, self.req.top, top=True)
        return [
            *self.lines,
            "# The answer to every part of a request with one error code, as Kafka's",
            "# getErrorResponse gives it: request.error_response(version, code).",
            f"{self.req.top.pyname}.error_response = {top}  # type: ignore",
            "",
            "",
        ]
