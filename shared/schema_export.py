"""Export the JSON Schema of every event under ``shared/schemas/``.

Consumers in other languages and schema registries read these files; a test
keeps them in sync with the pydantic models, so a model change without
``make schemas`` fails CI.
"""

from __future__ import annotations

from pathlib import Path

import orjson

from shared.events import ALL_EVENTS, Event

SCHEMA_DIR = Path(__file__).resolve().parent / "schemas"


def schema_of(cls: type[Event]) -> bytes:
    """The JSON Schema document for one event class, stable byte for byte."""
    schema = cls.model_json_schema()
    schema["$id"] = f"https://spendstream.dev/schemas/{cls.ce_type()}.json"
    schema["x-ce-type"] = cls.ce_type()
    return orjson.dumps(schema, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS) + b"\n"


def expected_files() -> dict[str, bytes]:
    """File name -> content for every event."""
    return {f"{cls.ce_type()}.json": schema_of(cls) for cls in ALL_EVENTS}


def write_schemas(directory: Path = SCHEMA_DIR) -> list[Path]:
    """Write every schema, remove stale ones, and return the paths written."""
    directory.mkdir(parents=True, exist_ok=True)
    files = expected_files()
    for stale in directory.glob("*.json"):
        if stale.name not in files:
            stale.unlink()
    written = []
    for name, content in files.items():
        path = directory / name
        path.write_bytes(content)
        written.append(path)
    return written
