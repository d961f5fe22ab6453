"""One OpenAPI document for the whole API, merged from each service's own document."""
from __future__ import annotations

import copy
import json
from typing import Any

REF_PREFIX = "#/components/schemas/"
PUBLIC_PATHS = {"/healthz", "/readyz"}
SECURITY_SCHEME = {
    "OAuth2Password": {
        "type": "oauth2",
        "description": "Bearer token from POST /auth/token (OAuth2 password or refresh grant)",
        "flows": {"password": {"tokenUrl": "/auth/token", "refreshUrl": "/auth/token", "scopes": {}}},
    }
}


def _rewrite_refs(node: Any, renames: dict[str, str]) -> Any:
    """Point $refs at renamed schemas."""
    if isinstance(node, dict):
        out = {}
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str) and value.startswith(REF_PREFIX):
                name = value[len(REF_PREFIX):]
                out[key] = REF_PREFIX + renames.get(name, name)
            else:
                out[key] = _rewrite_refs(value, renames)
        return out
    if isinstance(node, list):
        return [_rewrite_refs(item, renames) for item in node]
    return node


def merge_openapi(gateway_doc: dict[str, Any], service_docs: dict[str, dict[str, Any]],
                  prefix: str = "/api/v1") -> dict[str, Any]:
    """Prefix every service path with /api/v1/<service>, tag and id it by service, merge the schemas.

    A schema name two services define differently is renamed `<Service><Name>` in the later one,
    so that no service's contract is silently replaced by another's.
    """
    merged = copy.deepcopy(gateway_doc)
    merged.setdefault("paths", {})
    merged["components"] = merged.get("components", {})
    merged["components"].setdefault("securitySchemes", {}).update(SECURITY_SCHEME)
    for path, item in merged["paths"].items():
        for operation in item.values():
            if path.startswith("/auth/") and path != "/auth/token":
                operation["security"] = [{"OAuth2Password": []}]
    schemas: dict[str, Any] = merged.setdefault("components", {}).setdefault("schemas", {})
    tags = {t["name"]: t for t in merged.get("tags", [])}
    for service, doc in service_docs.items():
        tags.setdefault(service, {"name": service, "description": doc.get("info", {}).get("description", "")})
        renames: dict[str, str] = {}
        for name, schema in doc.get("components", {}).get("schemas", {}).items():
            if name in schemas and json.dumps(schemas[name], sort_keys=True) != json.dumps(schema, sort_keys=True):
                renames[name] = service.capitalize() + name
        doc = _rewrite_refs(doc, renames)
        for name, schema in doc.get("components", {}).get("schemas", {}).items():
            schemas[renames.get(name, name)] = schema
        for path, item in doc.get("paths", {}).items():
            new_item = {}
            for method, operation in item.items():
                if isinstance(operation, dict) and "operationId" in operation:
                    operation = dict(operation)
                    operation["operationId"] = f"{service}_{operation['operationId']}"
                    operation["tags"] = [service] + [t for t in operation.get("tags", []) if t != service]
                    operation["security"] = [] if path in PUBLIC_PATHS else [{"OAuth2Password": []}]
                new_item[method] = operation
            merged["paths"][f"{prefix}/{service}{path}"] = new_item
    merged["tags"] = list(tags.values())
    return merged
