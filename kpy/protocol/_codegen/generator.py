"""kpy's message code generator: Kafka's JSON message schemas in, Python modules out.

    python -m kpy.protocol._codegen [--schemas DIR] [--check]

Every request/response pair under DIR/messages becomes one module in kpy/protocol/messages/
(plus request_header.py, response_header.py and the consumer protocol's data types), the
API table becomes kpy/protocol/api_keys.py and the internal-topic record schemas under
DIR/internal-topics become kpy/protocol/internal.py. Output is deterministic and already in
its final form, so ``--check`` compares text.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from kpy.protocol._codegen.render import BANNER, module_text
from kpy.protocol._codegen.schema import Message, load_message, snake
from kpy.protocol._codegen.tables import api_module_name, render_api_keys

PROTOCOL_DIR = Path(__file__).resolve().parent.parent
REPO_ROOT = PROTOCOL_DIR.parent.parent
DEFAULT_SCHEMAS = REPO_ROOT.parent / "shared" / "kafka-protocol"


def load_all(schemas: Path) -> tuple[list[Message], list[Message]]:
    messages = [load_message(p) for p in sorted((schemas / "messages").glob("*.json"))]
    internal_dir = schemas / "internal-topics"
    internal = [load_message(p) for p in sorted(internal_dir.glob("*.json"))]
    return messages, internal


def render_all(schemas: Path) -> dict[Path, str]:
    """Every generated file's path and text."""
    messages, internal = load_all(schemas)
    groups: dict[str, list[Message]] = {}
    for m in messages:
        if m.kind in ("request", "response"):
            groups.setdefault(api_module_name(m.name), []).append(m)
        elif m.kind in ("header", "data") and not m.name.endswith("Record"):
            # Headers and the consumer protocol's embedded types; KRaft records are skipped.
            if m.kind == "data" and not m.name.startswith("ConsumerProtocol"):
                continue
            groups.setdefault(snake(m.name), []).append(m)
    msg_dir = PROTOCOL_DIR / "messages"
    files: dict[Path, str] = {}
    for mod, ms in sorted(groups.items()):
        ms.sort(key=lambda m: (m.kind != "request", m.name))
        names = " and ".join(m.name for m in ms)
        files[msg_dir / f"{mod}.py"] = module_text(
            ms, [f"messages/{m.source}" for m in ms], f"{names}, every version."
        )
    files[msg_dir / "__init__.py"] = (
        BANNER.format(s="s", sources="messages/*.json")
        + '"""Generated Kafka message classes, one module per API."""\n'
    )
    files[PROTOCOL_DIR / "internal.py"] = module_text(
        internal,
        [f"internal-topics/{m.source}" for m in internal],
        "Record keys and values of __consumer_offsets and __transaction_state.\n\n"
        "Each record key or value is an int16 version followed by the struct at that version.",
    )
    files[PROTOCOL_DIR / "api_keys.py"] = render_api_keys(
        messages,
        BANNER.format(s="s", sources="messages/*Request.json, messages/*Response.json"),
    )
    return files


def stale_files(files: dict[Path, str]) -> list[Path]:
    """Generated files that differ from ``files``, plus stray modules in messages/."""
    stale = [p for p, text in files.items() if not p.exists() or p.read_text() != text]
    extra = [p for p in (PROTOCOL_DIR / "messages").glob("*.py") if p not in files]
    return stale + sorted(extra)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m kpy.protocol._codegen")
    parser.add_argument("--schemas", default=str(DEFAULT_SCHEMAS), help="kafka-protocol dir")
    parser.add_argument("--check", action="store_true", help="exit 1 if generated files are stale")
    args = parser.parse_args(argv)
    schemas = Path(args.schemas)
    if not (schemas / "messages").is_dir():
        print(f"no schemas at {schemas}/messages", file=sys.stderr)
        return 2
    files = render_all(schemas)
    if args.check:
        stale = stale_files(files)
        for p in stale:
            print(f"stale: {p.relative_to(REPO_ROOT)}", file=sys.stderr)
        if stale:
            print("run `make generate`", file=sys.stderr)
        return 1 if stale else 0
    (PROTOCOL_DIR / "messages").mkdir(exist_ok=True)
    for p in (PROTOCOL_DIR / "messages").glob("*.py"):
        if p not in files:
            p.unlink()
    written = 0
    for p, text in files.items():
        if not p.exists() or p.read_text() != text:
            p.write_text(text)
            written += 1
    print(f"generated {len(files)} files ({written} changed) from {schemas}")
    return 0
