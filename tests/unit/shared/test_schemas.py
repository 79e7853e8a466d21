"""The committed JSON Schemas match the models (run `make schemas` after a change)."""

from shared.schema_export import SCHEMA_DIR, expected_files


def test_committed_schemas_match_models() -> None:
    files = expected_files()
    committed = {p.name: p.read_bytes() for p in SCHEMA_DIR.glob("*.json")}
    assert set(committed) == set(files), "run `make schemas`: schema files differ from the models"
    stale = [name for name, content in files.items() if committed[name] != content]
    assert not stale, f"run `make schemas`: out of date: {stale}"
