"""deploy/k8s: the Kustomize base and its overlays, rendered here without kubectl and checked against the
Kubernetes schemas (kubernetes-validate ships them: no network) and against what the processes need."""
from __future__ import annotations

import copy
import importlib
import re
from pathlib import Path

import kubernetes_validate
import pytest
import yaml

from tools.gendocs import merged_document

ROOT = Path(__file__).resolve().parents[2]
K8S = ROOT / "deploy" / "k8s"
OVERLAYS = {"dev": "fundflow-dev", "prod": "fundflow"}
PROCESSES = {"gateway": "gateway.settings.GatewaySettings",
             "intake": "services.intake.settings.IntakeSettings",
             "eligibility": "services.eligibility.settings.EligibilitySettings",
             "calculation": "services.calculation.settings.CalculationSettings",
             "disbursement": "services.disbursement.settings.DisbursementSettings"}
# the oldest Kubernetes the manifests claim to run on, and the newest schemas shipped
K8S_VERSIONS = ("1.28.0", kubernetes_validate.utils.latest_version())

# Lists that a strategic merge patch merges item by item on `name` (the rest are replaced whole), as the
# Kubernetes types declare them (patchMergeKey: name) for the fields the overlays patch.
MERGED_BY_NAME = {"containers", "initContainers", "env", "volumes", "volumeMounts"}
KNOWN_KEYS = {"apiVersion", "kind", "resources", "namespace", "images", "patches"}


def _merge(base, patch, key=None):
    if isinstance(base, dict) and isinstance(patch, dict):
        merged = dict(base)
        for k, v in patch.items():
            merged[k] = _merge(base[k], v, k) if k in base else copy.deepcopy(v)
        return merged
    if isinstance(base, list) and isinstance(patch, list) and key in MERGED_BY_NAME:
        merged = [copy.deepcopy(item) for item in base]
        for item in patch:
            at = next((i for i, old in enumerate(merged) if old.get("name") == item.get("name")), None)
            if at is None:
                merged.append(copy.deepcopy(item))
            else:
                merged[at] = _merge(merged[at], item)
        return merged
    return copy.deepcopy(patch)


def _pod_spec(doc: dict) -> dict:
    spec = doc.get("spec", {})
    if doc["kind"] == "CronJob":
        spec = spec["jobTemplate"]["spec"]
    return spec.get("template", {}).get("spec", {})


def _containers(doc: dict) -> list[dict]:
    spec = _pod_spec(doc)
    return [*spec.get("initContainers", []), *spec.get("containers", [])]


def render(folder: Path) -> list[dict]:
    """`kustomize build` of the few features these kustomizations use; anything else fails loudly."""
    kustomization = yaml.safe_load((folder / "kustomization.yaml").read_text(encoding="utf-8"))
    unknown = set(kustomization) - KNOWN_KEYS
    assert not unknown, f"{folder}: the test's renderer does not implement {unknown}"
    docs: list[dict] = []
    for entry in kustomization.get("resources", []):
        path = (folder / entry).resolve()
        if path.is_dir():
            docs += render(path)
        else:
            docs += [d for d in yaml.safe_load_all(path.read_text(encoding="utf-8")) if d]
    for patch_entry in kustomization.get("patches", []):
        assert set(patch_entry) == {"path"}, "only strategic merge patches from files, targeted by kind and name"
        for patch in yaml.safe_load_all((folder / patch_entry["path"]).read_text(encoding="utf-8")):
            targets = [i for i, d in enumerate(docs) if d["kind"] == patch["kind"]
                       and d["metadata"]["name"] == patch["metadata"]["name"]]
            assert len(targets) == 1, f"patch of {patch['kind']}/{patch['metadata']['name']} matches {targets}"
            docs[targets[0]] = _merge(docs[targets[0]], patch)
    for image in kustomization.get("images", []):
        for doc in docs:
            for container in _containers(doc):
                name, _, tag = container["image"].partition(":")
                if name == image["name"]:
                    container["image"] = f"{image.get('newName', name)}:{image.get('newTag', tag or 'latest')}"
    if "namespace" in kustomization:
        for doc in docs:
            doc["metadata"]["namespace"] = kustomization["namespace"]
    return docs


RENDERED = {name: render(K8S / "overlays" / name) for name in OVERLAYS}


def by_kind(docs: list[dict], kind: str) -> dict[str, dict]:
    return {d["metadata"]["name"]: d for d in docs if d["kind"] == kind}


def _cpu(quantity: str) -> float:
    return float(quantity[:-1]) / 1000 if str(quantity).endswith("m") else float(quantity)


def _memory(quantity: str) -> int:
    units = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30}
    match = re.fullmatch(r"(\d+)(Ki|Mi|Gi)?", str(quantity))
    return int(match.group(1)) * units.get(match.group(2), 1)


def _settings_env(docs: list[dict], container: dict, secret_values: dict[str, dict]) -> dict[str, str]:
    """What a container's environment would hold: its ConfigMaps and Secrets (values from `secret_values`)."""
    env: dict[str, str] = {}
    for source in container.get("envFrom", []):
        if "configMapRef" in source:
            env.update(by_kind(docs, "ConfigMap")[source["configMapRef"]["name"]]["data"])
        else:
            env.update(secret_values[source["secretRef"]["name"]])
    env.update({e["name"]: e["value"] for e in container.get("env", []) if "value" in e})
    return env


def test_the_renderer_reads_both_overlays_whole():
    for overlay, namespace in OVERLAYS.items():
        docs = RENDERED[overlay]
        kinds = sorted({d["kind"] for d in docs})
        assert {"Deployment", "Service", "Ingress", "Job", "ConfigMap", "HorizontalPodAutoscaler",
                "PodDisruptionBudget", "CronJob", "PersistentVolumeClaim"} <= set(kinds)
        assert sorted(by_kind(docs, "Deployment")) == sorted(PROCESSES)
        assert sorted(by_kind(docs, "Service")) == sorted(PROCESSES)
        assert all(d["metadata"]["namespace"] == namespace for d in docs)
        assert len({(d["kind"], d["metadata"]["name"]) for d in docs}) == len(docs), "a resource is declared twice"


@pytest.mark.parametrize("overlay", sorted(OVERLAYS))
def test_every_manifest_is_valid_against_the_kubernetes_schemas(overlay):
    for version in K8S_VERSIONS:
        for doc in RENDERED[overlay]:
            # strict: a misspelt or misplaced field is an error, not silently ignored
            kubernetes_validate.validate(doc, version, strict=True)


def test_a_broken_manifest_is_caught_by_the_validation():
    deployment = copy.deepcopy(by_kind(RENDERED["prod"], "Deployment")["intake"])
    deployment["spec"]["template"]["spec"]["containers"][0]["readinessProb"] = {"httpGet": {"path": "/readyz"}}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deployment, K8S_VERSIONS[0], strict=True)


@pytest.mark.parametrize("overlay", sorted(OVERLAYS))
def test_each_process_has_probes_resources_and_runs_unprivileged(overlay):
    entrypoint = (ROOT / "deploy" / "entrypoint.sh").read_text()
    accepted = set(re.search(r'PROCESSES="([^"]+)"', entrypoint).group(1).split())
    for name, deployment in by_kind(RENDERED[overlay], "Deployment").items():
        pod = deployment["spec"]["template"]["spec"]
        (container,) = pod["containers"]
        assert container["args"] == [name] and name in accepted
        assert container["image"].startswith("registry.example.org/fundflow:")
        ports = {p["name"]: p["containerPort"] for p in container["ports"]}
        assert ports == {"http": 8000}
        liveness, readiness = container["livenessProbe"]["httpGet"], container["readinessProbe"]["httpGet"]
        assert liveness == {"path": "/healthz", "port": "http"}
        # the gateway's /readyz fails when any one service is down: it must not take the whole API off the Ingress
        assert readiness == {"path": "/healthz" if name == "gateway" else "/readyz", "port": "http"}
        resources = container["resources"]
        assert _cpu(resources["requests"]["cpu"]) <= _cpu(resources["limits"]["cpu"])
        assert _memory(resources["requests"]["memory"]) <= _memory(resources["limits"]["memory"])
        assert pod["securityContext"]["runAsNonRoot"] and pod["securityContext"]["runAsUser"] == 10001
        assert container["securityContext"]["readOnlyRootFilesystem"]
        assert container["securityContext"]["allowPrivilegeEscalation"] is False
        annotations = deployment["spec"]["template"]["metadata"]["annotations"]
        assert annotations["prometheus.io/path"] == "/metrics" and annotations["prometheus.io/port"] == "8000"


@pytest.mark.parametrize("overlay", sorted(OVERLAYS))
def test_services_autoscalers_and_budgets_select_their_deployments(overlay):
    docs = RENDERED[overlay]
    deployments = by_kind(docs, "Deployment")
    pod_labels = {n: d["spec"]["template"]["metadata"]["labels"] for n, d in deployments.items()}
    for name, deployment in deployments.items():
        assert deployment["spec"]["selector"]["matchLabels"].items() <= pod_labels[name].items()

    def selected(selector: dict) -> list[str]:
        return [n for n, labels in pod_labels.items() if selector.items() <= labels.items()]

    for name, service in by_kind(docs, "Service").items():
        assert selected(service["spec"]["selector"]) == [name]
        assert service["spec"]["type"] == "ClusterIP"
        assert [p["targetPort"] for p in service["spec"]["ports"]] == ["http"]
    budgets = by_kind(docs, "PodDisruptionBudget")
    assert sorted(selected(b["spec"]["selector"]["matchLabels"])[0] for b in budgets.values()) == sorted(PROCESSES)
    assert all(len(selected(b["spec"]["selector"]["matchLabels"])) == 1 for b in budgets.values())
    autoscalers = by_kind(docs, "HorizontalPodAutoscaler")
    assert sorted(a["spec"]["scaleTargetRef"]["name"] for a in autoscalers.values()) == ["gateway", "intake"]
    for autoscaler in autoscalers.values():
        target = autoscaler["spec"]["scaleTargetRef"]
        assert target["kind"] == "Deployment" and target["name"] in deployments
        assert 1 <= autoscaler["spec"]["minReplicas"] <= autoscaler["spec"]["maxReplicas"]
        # a fixed replica count would fight the autoscaler on every apply
        assert "replicas" not in deployments[target["name"]]["spec"]
        assert [m["resource"]["name"] for m in autoscaler["spec"]["metrics"]] == ["cpu"]
    if overlay == "prod":
        assert all(a["spec"]["minReplicas"] >= 2 for a in autoscalers.values())
        assert all(d["spec"].get("replicas", 2) >= 2 for d in deployments.values())


@pytest.mark.parametrize("overlay", sorted(OVERLAYS))
def test_only_the_gateway_is_reachable_from_outside(overlay):
    docs = RENDERED[overlay]
    (ingress,) = by_kind(docs, "Ingress").values()
    paths = [path for rule in ingress["spec"]["rules"] for path in rule["http"]["paths"]]
    assert all(path["backend"]["service"] == {"name": "gateway", "port": {"name": "http"}} for path in paths)

    def routed(url: str) -> bool:
        return any(url == p["path"] if p["pathType"] == "Exact" else
                   url == p["path"] or url.startswith(p["path"].rstrip("/") + "/") for p in paths)

    # every public operation of the merged API (and the Swagger UI) is routed; probes and metrics are not
    public = [path for path, ops in merged_document()["paths"].items()
              if not any(path.endswith(internal) for internal in ("/healthz", "/readyz", "/metrics"))]
    assert len(public) > 50 and all(routed(path) for path in public), [p for p in public if not routed(p)]
    assert routed("/docs") and routed("/docs/static/swagger-ui.css") and routed("/openapi.json")
    assert not any(routed(path) for path in ("/metrics", "/readyz", "/healthz", "/", "/apiv1"))
    base_paths = yaml.safe_load((K8S / "base" / "ingress.yaml").read_text())["spec"]["rules"][0]["http"]["paths"]
    assert paths == base_paths  # an overlay that changes the host repeats the paths as they are
    assert by_kind(docs, "Service")["gateway"]["spec"]["ports"][0]["name"] == "http"
    assert all(s["spec"]["type"] == "ClusterIP" for s in by_kind(docs, "Service").values())
    if overlay == "prod":
        assert ingress["spec"]["tls"][0]["hosts"] == [ingress["spec"]["rules"][0]["host"]]


def test_the_migration_job_runs_every_migration_with_every_process_configuration():
    for overlay in OVERLAYS:
        job = by_kind(RENDERED[overlay], "Job")["migrate"]
        (container,) = job["spec"]["template"]["spec"]["containers"]
        assert container["args"] == ["migrate"]
        assert job["spec"]["template"]["spec"]["restartPolicy"] in ("OnFailure", "Never")
        secrets = {s["secretRef"]["name"] for s in container["envFrom"] if "secretRef" in s}
        assert secrets == {f"fundflow-{p}" for p in PROCESSES}


def test_backups_run_nightly_onto_their_volume_and_the_restore_job_matches_them():
    entrypoint = (ROOT / "deploy" / "entrypoint.sh").read_text()
    accepted = set(re.search(r'PROCESSES="([^"]+)"', entrypoint).group(1).split())
    restore = yaml.safe_load((K8S / "ops" / "restore-job.yaml").read_text(encoding="utf-8"))
    for version in K8S_VERSIONS:
        kubernetes_validate.validate(restore, version, strict=True)
    for overlay in OVERLAYS:
        docs = RENDERED[overlay]
        cronjob = by_kind(docs, "CronJob")["backup"]
        assert cronjob["spec"]["concurrencyPolicy"] == "Forbid"
        pod = _pod_spec(cronjob)
        (container,) = pod["containers"]
        assert container["args"][:3] == ["backup", "dump", "--in"] and container["args"][0] in accepted
        assert container["envFrom"] == _pod_spec(by_kind(docs, "Job")["migrate"])["containers"][0]["envFrom"]
        claims = {v["persistentVolumeClaim"]["claimName"] for v in pod["volumes"] if "persistentVolumeClaim" in v}
        assert claims == set(by_kind(docs, "PersistentVolumeClaim")) == {"fundflow-backups"}
        mounts = {m["mountPath"] for m in container["volumeMounts"]}
        assert container["args"][3] in mounts and pod["securityContext"]["fsGroup"] == 10001
    (restorer,) = restore["spec"]["template"]["spec"]["containers"]
    prod_backup = _pod_spec(by_kind(RENDERED["prod"], "CronJob")["backup"])
    assert restorer["image"] == prod_backup["containers"][0]["image"]  # the same release restores what it saved
    assert restorer["envFrom"] == prod_backup["containers"][0]["envFrom"]
    assert restorer["args"][:3] == ["backup", "restore", "--from"]
    assert restorer["args"][3].startswith("/backups/") and restore["spec"]["template"]["spec"]["volumes"][0] == \
        prod_backup["volumes"][0]


def _production_settings(process: str, env: dict[str, str], monkeypatch):
    for key in list(__import__("os").environ):
        if key.split("_", 1)[0] in {p.upper() for p in PROCESSES}:
            monkeypatch.delenv(key)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    module, cls = PROCESSES[process].rsplit(".", 1)
    return getattr(importlib.import_module(module), cls)()  # refuses embedded defaults in production


@pytest.mark.parametrize("process", sorted(PROCESSES))
@pytest.mark.parametrize("overlay", sorted(OVERLAYS))
def test_each_process_starts_in_production_with_what_the_cluster_gives_it(overlay, process, monkeypatch):
    docs = RENDERED[overlay]
    dev_secrets = {name: s["stringData"] for name, s in by_kind(RENDERED["dev"], "Secret").items()}
    if overlay == "prod":  # production's Secrets come from the secret store: git holds none of them
        assert by_kind(docs, "Secret") == {}
    else:
        assert sorted(dev_secrets) == sorted(f"fundflow-{p}" for p in PROCESSES)
    (container,) = by_kind(docs, "Deployment")[process]["spec"]["template"]["spec"]["containers"]
    # a process sees its own Secret only: no service holds another's database password
    assert [s["secretRef"]["name"] for s in container["envFrom"] if "secretRef" in s] == [f"fundflow-{process}"]
    own = dev_secrets[f"fundflow-{process}"]
    assert all(key.startswith(process.upper() + "_") for key in own)
    settings = _production_settings(process, _settings_env(docs, container, dev_secrets), monkeypatch)
    assert settings.environment == "production"
    assert settings.database_url.startswith("postgresql+psycopg://")
    if process == "intake":  # documents go to MinIO, never to the pod's disk
        assert settings.s3_endpoint and settings.s3_secure == (overlay == "prod")
    if process == "gateway":
        assert settings.upstreams() == {s: f"http://{s}:8000" for s in PROCESSES if s != "gateway"}
        assert set(settings.upstreams()) <= set(by_kind(docs, "Service"))


def test_the_renderer_merges_as_a_strategic_merge_patch_does():
    base = {"spec": {"replicas": 2, "template": {"spec": {"containers": [
        {"name": "a", "image": "x", "resources": {"requests": {"cpu": "1", "memory": "1Gi"}}, "args": ["a"]},
        {"name": "b", "image": "y"}]}}}}
    patch = {"spec": {"template": {"spec": {"containers": [
        {"name": "a", "resources": {"requests": {"cpu": "50m"}}, "args": ["z"]}]}}}}
    merged = _merge(base, patch)
    a, b = merged["spec"]["template"]["spec"]["containers"]
    assert a == {"name": "a", "image": "x", "resources": {"requests": {"cpu": "50m", "memory": "1Gi"}}, "args": ["z"]}
    assert b == {"name": "b", "image": "y"} and merged["spec"]["replicas"] == 2
    assert base["spec"]["template"]["spec"]["containers"][0]["resources"]["requests"]["cpu"] == "1"
