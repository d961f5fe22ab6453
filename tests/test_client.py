"""A Python client generated from the merged OpenAPI document (openapi-python-client): it type-checks, and it drives
the first stages of the demo against the running system: a token, a unit, an application, its documents, submission."""
from __future__ import annotations

import importlib
import io
import re
import sys
import uuid

import pytest

from tools import client as generator
from tools.gendocs import merged_document

from .factories import PLATFORM_MATERIALS, applicant_body, new_uscc, pdf_bytes, platform_construction_content
from .system import ADMIN_PASSWORD


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    """The generated package (from the committed documents, no network), importable as `fundflow_client`."""
    package, log = generator.generate(tmp_path_factory.mktemp("client"))
    # the one thing the generator leaves out: CSV request bodies (tools/openapi-client.yaml says how to reach them)
    warnings = re.split(r"^WARNING ", log, flags=re.MULTILINE)[1:]
    assert all("Unsupported content type text/csv" in w for w in warnings), log
    assert "Unable to" not in log and "Could not" not in log, log
    sys.path.insert(0, str(package.parent))
    try:
        yield package
    finally:
        sys.path.remove(str(package.parent))
        for name in [m for m in sys.modules if m == "fundflow_client" or m.startswith("fundflow_client.")]:
            del sys.modules[name]


def test_the_merged_document_names_tags_and_illustrates_every_operation():
    document = merged_document()
    operations = [(path, op) for path, item in document["paths"].items() for op in item.values()
                  if isinstance(op, dict) and "operationId" in op]
    ids = [op["operationId"] for _, op in operations]
    assert len(ids) == len(set(ids)), sorted(i for i in ids if ids.count(i) > 1)
    for path, op in operations:
        if path.startswith("/api/v1/"):
            service = path.split("/")[3]
            assert op["operationId"].startswith(f"{service}_") and op["tags"][0] == service, (path, op["tags"])
            assert {"503", "504"} <= set(op["responses"]), path  # the gateway's own answers are documented
            assert op["security"] == [] or "401" in op["responses"], path
    titles = [schema.get("title", name) for name, schema in document["components"]["schemas"].items()]
    assert len(titles) == len(set(titles))  # generated classes are named after titles
    schemas = document["components"]["schemas"]
    for name in ("ApplicantCreate", "ApplicationCreate", "ReviewDecision", "SubscriptionCreate", "CreditEntryIn",
                 "PlanCreate", "AuditOpinionIn", "ObjectionCreate", "ObjectionResolve", "UserCreate"):
        assert schemas[name].get("examples"), name


def test_the_generated_client_type_checks(generated):
    checked = generator.type_check(generated)
    assert checked.returncode == 0, checked.stdout[-4000:] + checked.stderr[-2000:]


def test_the_generated_client_registers_applies_uploads_and_submits(generated, system):
    models = importlib.import_module("fundflow_client.models")
    client = importlib.import_module("fundflow_client")
    types = importlib.import_module("fundflow_client.types")
    issue_token = importlib.import_module("fundflow_client.api.auth.issue_token")
    create_user = importlib.import_module("fundflow_client.api.auth.create_user")
    intake = {name: importlib.import_module(f"fundflow_client.api.intake.intake_{name}") for name in (
        "register_applicant", "create_application", "upload_document", "submit_application", "list_documents")}

    def token(username: str, password: str) -> str:
        anonymous = client.Client(base_url=system.gateway_url)
        pair = issue_token.sync(client=anonymous, body=models.BodyIssueToken(
            grant_type=models.BodyIssueTokenGrantType.PASSWORD, username=username, password=password))
        assert isinstance(pair, models.TokenPair), pair
        return pair.access_token

    admin = client.AuthenticatedClient(base_url=system.gateway_url, token=token("admin", ADMIN_PASSWORD))
    uscc, password = new_uscc("210204"), uuid.uuid4().hex
    user = create_user.sync(client=admin, body=models.UserCreate(
        username=f"client-{uscc}", password=password, role=models.UserCreateRole.APPLICANT, unit_uscc=uscc))
    assert isinstance(user, models.UserRead) and user.unit_uscc == uscc
    unit = client.AuthenticatedClient(base_url=system.gateway_url, token=token(f"client-{uscc}", password))

    applicant = intake["register_applicant"].sync(client=unit,
                                                  body=models.ApplicantCreate.from_dict(applicant_body(uscc, "210204")))
    assert isinstance(applicant, models.ApplicantRead) and applicant.uscc == uscc
    draft = intake["create_application"].sync(client=unit, body=models.ApplicationCreate.from_dict({
        "applicant_id": applicant.id, "project_type": "platform_construction",
        "content": platform_construction_content()}))
    assert isinstance(draft, models.ApplicationRead) and draft.status == "draft", draft
    for kind in PLATFORM_MATERIALS:
        document = intake["upload_document"].sync(
            draft.id, client=unit, kind=kind, filename=f"{kind}.pdf",
            body=types.File(payload=io.BytesIO(pdf_bytes(kind)), mime_type="application/pdf"))
        assert isinstance(document, models.DocumentRead) and document.media_type == "application/pdf", document
    listed = intake["list_documents"].sync(draft.id, client=unit)
    assert sorted(d.kind for d in listed) == sorted(PLATFORM_MATERIALS)

    submitted = intake["submit_application"].sync(draft.id, client=unit)
    assert isinstance(submitted, models.ApplicationRead) and submitted.status == "submitted", submitted
    again = intake["submit_application"].sync_detailed(draft.id, client=unit)  # a refusal is a typed problem
    assert again.status_code == 409 and isinstance(again.parsed, models.ProblemDetails)
    assert again.parsed.status == 409 and again.parsed.type_.endswith("conflict")
