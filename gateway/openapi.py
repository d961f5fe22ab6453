"""One OpenAPI document for the whole API, merged from each service's own document."""
from __future__ import annotations

import copy
import json
from typing import Any

REF_PREFIX = "#/components/schemas/"
PUBLIC_PATHS = {"/healthz", "/readyz"}
INTERNAL_PATHS = {"/metrics"}  # a service's metrics are scraped inside the deployment, not offered by the gateway
GATEWAY_ANSWERS = {  # what the gateway itself may answer on a proxied operation, whatever the service does
    "401": "Missing, expired or invalid bearer token",
    "403": "The token's role may not call this operation",
    "413": "The body exceeds the route's limit",
    "429": "Rate limit exceeded (see Retry-After)",
    "503": "The service (or one of its dependencies) is unavailable",
    "504": "The service did not answer in time",
}
PROBLEM_CONTENT = {"application/problem+json": {"schema": {"$ref": "#/components/schemas/ProblemDetails"}}}
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
            if name in renames and schema.get("title") == name:
                # generated clients name their classes after the title: two `Award`s would collide there too
                schema = {**schema, "title": renames[name]}
            schemas[renames.get(name, name)] = schema
        for path, item in doc.get("paths", {}).items():
            if path in INTERNAL_PATHS:
                continue
            new_item = {}
            for method, operation in item.items():
                if isinstance(operation, dict) and "operationId" in operation:
                    operation = dict(operation)
                    operation["operationId"] = f"{service}_{operation['operationId']}"
                    operation["tags"] = [service] + [t for t in operation.get("tags", []) if t != service]
                    public = path in PUBLIC_PATHS
                    operation["security"] = [] if public else [{"OAuth2Password": []}]
                    responses = operation.setdefault("responses", {})
                    for status, description in GATEWAY_ANSWERS.items():
                        if public and status in ("401", "403", "429"):
                            continue
                        responses.setdefault(status, {"description": description, "content": PROBLEM_CONTENT})
                new_item[method] = operation
            merged["paths"][f"{prefix}/{service}{path}"] = new_item
    merged["tags"] = list(tags.values())
    return merged
