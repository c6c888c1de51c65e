"""Hypothesis strategies for generated messages, driven by each class's FIELDS table."""

from __future__ import annotations

import sys

from hypothesis import strategies as st

_INTS = {
    "int8": (-(2**7), 2**7 - 1),
    "int16": (-(2**15), 2**15 - 1),
    "uint16": (0, 2**16 - 1),
    "int32": (-(2**31), 2**31 - 1),
    "uint32": (0, 2**32 - 1),
    "int64": (-(2**63), 2**63 - 1),
}
_TEXT = st.text(st.characters(blacklist_categories=("Cs",)), max_size=8)


def _in(rng: tuple[int, int], version: int) -> bool:
    return rng[0] <= version <= rng[1]


def _prim(ftype: str):
    if ftype == "bool":
        return st.booleans()
    if ftype in _INTS:
        return st.integers(*_INTS[ftype])
    if ftype == "float64":
        return st.floats(allow_nan=False)
    if ftype == "uuid":
        return st.uuids()
    if ftype == "string":
        return _TEXT
    if ftype in ("bytes", "records"):
        return st.binary(max_size=12)
    raise AssertionError(ftype)


def message(cls, version: int, flexible: bool, depth: int = 0, unknown_tags: bool = True):
    """A strategy for instances of ``cls`` whose fields all exist at ``version``."""
    module = sys.modules[cls.__module__]
    fields = {}
    used_tags = set()
    for attr, ftype, versions, nullable, tag, tagged, struct_name in cls.FIELDS:
        if tag is not None:
            used_tags.add(tag)
            if not (flexible and _in(tagged, version)):
                continue
        elif not _in(versions, version):
            continue
        is_array = ftype.startswith("[]")
        elem = ftype[2:] if is_array else ftype
        if struct_name is not None:
            inner = st.deferred(
                lambda n=struct_name: message(
                    getattr(module, n), version, flexible, depth + 1, unknown_tags
                )
            )
        else:
            inner = _prim(elem)
        value = st.lists(inner, max_size=2 if depth < 2 else 0) if is_array else inner
        if _in(nullable, version):
            value = st.none() | value
        fields[attr] = value
    if flexible and unknown_tags:
        free = [t for t in range(20, 40) if t not in used_tags]
        fields["unknown_tagged_fields"] = st.lists(
            st.tuples(st.sampled_from(free), st.binary(max_size=6)),
            max_size=2,
            unique_by=lambda x: x[0],
        ).map(lambda items: sorted(items))
    return st.builds(cls, **fields)
