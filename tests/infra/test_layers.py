"""The layers `make build` made ship bytecode Lambda's Python 3.12 reads:
/opt is read-only, so a layer without it compiles what it imports at every
cold start."""

from __future__ import annotations

import importlib.util
import subprocess
from pathlib import Path

import pytest
from aws_cdk import App, Stack
from aws_cdk import aws_dynamodb as dynamodb

from infra import wiring
from infra.constructs.functions import REPO_ROOT, Functions

pytestmark = pytest.mark.infra

PYTHON312_MAGIC = (3531).to_bytes(2, "little") + b"\r\n"  # importlib's MAGIC_NUMBER for every 3.12.x
UNCHECKED_HASH = 0b01  # hash-based, never checked against its source: an unzipped date cannot make it stale


def python312() -> str | None:
    """What the Makefile compiles with (PYTHON312), when this machine has one."""
    found = subprocess.run(
        ["make", "-s", "--no-print-directory", "-f", "-", "print"],
        input="include Makefile\nprint:\n\t@echo $(PYTHON312)\n",
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    return found or None


@pytest.mark.skipif(python312() is None, reason="no Python 3.12 on this machine: the layers ship sources only")
@pytest.mark.parametrize("name", sorted(wiring.LAYERS))
def test_every_module_of_a_layer_has_unchecked_python312_bytecode(name: str) -> None:
    folder = REPO_ROOT / wiring.LAYERS[name] / "python"
    sources = sorted(folder.rglob("*.py"))
    assert sources, f"{folder} is empty: make build"
    missing, wrong = [], []
    for source in sources:
        compiled = Path(importlib.util.cache_from_source(str(source), optimization="")).with_name(
            f"{source.stem}.cpython-312.pyc"
        )
        if not compiled.is_file():
            missing.append(str(source.relative_to(folder)))
            continue
        header = compiled.read_bytes()[:8]
        if header[:4] != PYTHON312_MAGIC or int.from_bytes(header[4:8], "little") != UNCHECKED_HASH:
            wrong.append(str(compiled.relative_to(folder)))
    assert not missing, f"{len(missing)} modules without bytecode, e.g. {missing[:3]}"
    assert not wrong, f"{len(wrong)} not 3.12 unchecked-hash bytecode, e.g. {wrong[:3]}"
    others = [p for p in folder.rglob("*.pyc") if ".cpython-312." not in p.name]
    assert not others, f"bytecode Lambda never reads: {others[:3]}"


def test_the_staged_layers_keep_their_bytecode_and_the_code_folders_none(tmp_path: Path) -> None:
    """What `cdk deploy` zips: the built layers with their .pyc, the function
    folders without what a local run left there."""
    local_leftover = REPO_ROOT / "functions" / "totals" / "__pycache__" / "left.cpython-311.pyc"
    local_leftover.parent.mkdir(exist_ok=True)
    local_leftover.write_bytes(b"")
    try:
        app = App(outdir=str(tmp_path))
        stack = Stack(app, "Staged")
        table = dynamodb.Table(
            stack, "Table", partition_key=dynamodb.Attribute(name="pk", type=dynamodb.AttributeType.STRING)
        )
        Functions(stack, "Functions", table=table, functions=(wiring.TOTALS,))
        app.synth()
    finally:
        local_leftover.unlink()
    staged = [path for path in tmp_path.iterdir() if path.is_dir() and path.name.startswith("asset.")]
    layers = [path for path in staged if (path / "python").is_dir()]
    code = [path for path in staged if (path / "handler.py").is_file()]
    assert len(layers) == len(wiring.TOTALS.layers)
    assert len(code) == 1
    for layer in layers:
        assert any(layer.rglob("*.cpython-312.pyc")) or python312() is None, layer
    assert not list(code[0].rglob("*.pyc"))


def test_a_core_layer_copied_before_its_source_changed_asks_for_make_build(tmp_path: Path, monkeypatch) -> None:
    from infra.constructs import functions as functions_module

    source, built = tmp_path / "source", tmp_path / "build" / "core"
    (source / "invoicing").mkdir(parents=True)
    (source / "invoicing" / "routes.py").write_text("OLD = 1\n")
    (built / "python" / "invoicing" / "__pycache__").mkdir(parents=True)
    (built / "python" / "invoicing" / "routes.py").write_text("OLD = 1\n")
    (built / "python" / "invoicing" / "__pycache__" / "routes.cpython-312.pyc").write_bytes(b"")
    monkeypatch.setattr(functions_module, "BUILD_DIR", tmp_path / "build")
    monkeypatch.setitem(functions_module.LAYER_DIRS, "core", built)
    monkeypatch.setitem(functions_module.COPIED_FROM, "core", source)
    assert functions_module.layer_dir("core") == built  # a copy, its bytecode aside

    (source / "invoicing" / "routes.py").write_text("NEW = 1\n")
    with pytest.raises(FileNotFoundError, match="run `make build` first"):
        functions_module.layer_dir("core")
    (source / "invoicing" / "routes.py").unlink()  # removed since: it would linger in the layer
    (source / "invoicing" / "adapters.py").write_text("OLD = 1\n")
    with pytest.raises(FileNotFoundError, match="run `make build` first"):
        functions_module.layer_dir("core")
