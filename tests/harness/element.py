"""The Element-stack test client: matrix-js-sdk with its Rust crypto, in strict mode (tests/js/element_client.mjs)."""

from __future__ import annotations

import asyncio
import json
import shutil
from pathlib import Path
from typing import Any

import pytest

JS_DIR = Path(__file__).resolve().parents[1] / "js"
JS_CLIENT = JS_DIR / "element_client.mjs"


@pytest.fixture(scope="module")
def node() -> str:
    """The node binary, once the Element-stack client is installed (`make js`)."""
    path = shutil.which("node")
    if path is None:
        pytest.fail("node (>= 20) is needed for the Element-stack client")
    if not (JS_DIR / "node_modules" / "matrix-js-sdk").is_dir():
        pytest.fail(f"the Element-stack client is not installed: run `make js` (npm ci in {JS_DIR})")
    return path


async def run_element_client(node: str, spec: dict[str, Any], timeout: float) -> dict[str, Any]:
    proc = await asyncio.create_subprocess_exec(
        node,
        str(JS_CLIENT),
        json.dumps(spec),
        cwd=JS_DIR,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        out, err = await asyncio.wait_for(proc.communicate(), timeout + 30)
    except TimeoutError:
        proc.kill()
        await proc.wait()
        raise
    lines = out.decode().strip().splitlines()
    assert len(lines) == 1, f"expected one JSON line on stdout, got {lines!r}; stderr tail: {err.decode()[-2000:]}"
    result: dict[str, Any] = json.loads(lines[0])
    assert (proc.returncode == 0) == result["ok"], (proc.returncode, result)
    return result
