"""Generate a typed Python client of the whole API from the merged OpenAPI document (openapi-python-client).

`python -m tools.client build/client` writes `build/client/openapi.json` (from the committed documents, no running
system needed) and the package `build/client/fundflow_client`; `--check` also type-checks it with mypy.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

from tools.gendocs import merged_document

ROOT = Path(__file__).resolve().parent.parent
CONFIG = ROOT / "tools" / "openapi-client.yaml"
PACKAGE = "fundflow_client"
# the generator's own client.py passes `*args: object` on to httpx's typed __exit__/__aexit__ (0.29.1): not ours
MYPY_INI = f"[mypy]\nwarn_unused_configs = True\n\n[mypy-{PACKAGE}.client]\ndisable_error_code = arg-type\n"


def _tools_env() -> dict[str, str]:
    # the generator formats its output with the ruff installed beside it, in this interpreter's bin folder
    return {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}


def generate(out: Path) -> tuple[Path, str]:
    """Write the merged document and generate the package beside it; the package's folder and the generator's output."""
    out.mkdir(parents=True, exist_ok=True)
    document = out / "openapi.json"
    document.write_text(json.dumps(merged_document(), ensure_ascii=False, indent=2), encoding="utf-8")
    package = out / PACKAGE
    result = subprocess.run(
        [str(Path(sys.executable).parent / "openapi-python-client"), "generate", "--path", str(document),
         "--meta", "none", "--output-path", str(package), "--overwrite", "--config", str(CONFIG)],
        cwd=out, capture_output=True, text=True, env=_tools_env(), timeout=300)
    if result.returncode != 0:
        raise RuntimeError(f"openapi-python-client failed:\n{result.stdout}\n{result.stderr}")
    return package, result.stdout + result.stderr


def type_check(package: Path) -> subprocess.CompletedProcess:
    """mypy over the generated package."""
    config = package.parent / "mypy.ini"
    config.write_text(MYPY_INI, encoding="utf-8")
    return subprocess.run([sys.executable, "-m", "mypy", "--config-file", str(config), "--cache-dir",
                           str(package.parent / ".mypy_cache"), PACKAGE], cwd=package.parent, capture_output=True,
                          text=True, env=_tools_env(), timeout=600)


def main(argv: list[str] | None = None) -> int:
    """`python -m tools.client OUT [--check]`."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path, help="folder for openapi.json and the package")
    parser.add_argument("--check", action="store_true", help="type-check the generated package with mypy")
    args = parser.parse_args(argv)
    package, log = generate(args.out.resolve())
    print(log.strip())
    print(f"generated {package}")
    if args.check:
        checked = type_check(package)
        print(checked.stdout.strip())
        return checked.returncode
    return 0


if __name__ == "__main__":
    sys.exit(main())
