"""`python -m services.<name> migrate|openapi`: the commands every service offers."""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Callable


def run_cli(service: str, create_app: Callable, migrate: Callable[[], None], openapi_path: Path) -> None:
    """Parse argv and run one of the service's commands."""
    parser = argparse.ArgumentParser(prog=f"python -m services.{service}")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("migrate", help="apply the database migrations up to head")
    export = sub.add_parser("openapi", help="write the OpenAPI document committed beside the code")
    export.add_argument("--check", action="store_true", help="fail if the committed document is out of date")
    args = parser.parse_args()
    if args.command == "migrate":
        migrate()
        print(f"{service}: database migrated to head")
        return
    text = openapi_text(create_app())
    if args.check:
        if not openapi_path.exists() or openapi_path.read_text(encoding="utf-8") != text:
            sys.exit(f"{openapi_path} differs from what the app generates: run `make openapi`")
        return
    openapi_path.write_text(text, encoding="utf-8")
    print(f"wrote {openapi_path}")


def openapi_text(app) -> str:
    """The app's OpenAPI document as committed: sorted keys, two-space indent, trailing newline."""
    return json.dumps(app.openapi(), indent=2, sort_keys=True, ensure_ascii=False) + "\n"
