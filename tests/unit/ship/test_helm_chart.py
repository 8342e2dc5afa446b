"""The Helm chart offline: lint, rendering, least privilege, security contexts, labels, schema, copies.

What the API server thinks of the rendered objects is in tests/e2e/test_helm.py.
"""

from __future__ import annotations

import filecmp
import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

ALL_FEATURES = [
    "--set", "metrics.serviceMonitor.enabled=true",
    "--set", "metrics.podMonitor.enabled=true",
    "--set", "metrics.prometheusRule.enabled=true",
    "--set", "grafanaDashboard.enabled=true",
]  # fmt: skip
NAMESPACED = ["--set", "operator.watchNamespaces={team-a,team-b}"]
STANDARD_LABELS = {
    "app.kubernetes.io/name",
    "app.kubernetes.io/instance",
    "app.kubernetes.io/version",
    "app.kubernetes.io/managed-by",
    "app.kubernetes.io/component",
    "app.kubernetes.io/part-of",
    "helm.sh/chart",
}


def chart(repo: Path) -> Path:
    return repo / "helm" / "mlpy"


def render(helm: str, repo: Path, *values: str) -> list[dict[str, Any]]:
    done = subprocess.run(
        [helm, "template", "rel", str(chart(repo)), "-n", "mlpy-system", *values],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    return [doc for doc in yaml.safe_load_all(done.stdout) if doc]


@pytest.mark.parametrize(
    "values", [[], ALL_FEATURES, ALL_FEATURES + NAMESPACED], ids=["defaults", "all", "ns"]
)
def test_helm_lint_strict_is_clean(helm: str, repo: Path, values: list[str]) -> None:
    done = subprocess.run(
        [helm, "lint", "--strict", str(chart(repo)), *values], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "[WARNING]" not in done.stdout
    assert "[ERROR]" not in done.stdout


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("rbac.create=maybe", "/rbac/create"),
        ("operator.watchNamespaces={Not_A_Namespace}", "/operator/watchNamespaces/0"),
        ("metrics.port=70000", "/metrics/port"),
        ("metrics.prometheusRule.errorRateThreshold=2", "/metrics/prometheusRule/errorRateThreshold"),
        ("operator.replicas=2", "additional properties 'replicas' not allowed"),
    ],
)
def test_values_schema_rejects_bad_values(helm: str, repo: Path, value: str, message: str) -> None:
    done = subprocess.run(
        [helm, "template", "rel", str(chart(repo)), "--set", value],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode != 0
    assert message in done.stderr


def _rules(objects: list[dict[str, Any]]) -> list[tuple[str, dict[str, Any]]]:
    return [
        (o["metadata"]["name"], r)
        for o in objects
        if o["kind"] in {"Role", "ClusterRole"}
        for r in o["rules"]
    ]


@pytest.mark.parametrize(
    "values", [ALL_FEATURES, ALL_FEATURES + NAMESPACED], ids=["cluster-wide", "namespaced"]
)
def test_rbac_has_no_wildcards_and_no_dangerous_grants(helm: str, repo: Path, values: list[str]) -> None:
    rules = _rules(render(helm, repo, *values))
    assert rules
    for name, rule in rules:
        for key in ("apiGroups", "resources", "verbs"):
            assert "*" not in rule.get(key, []), f"{name}: wildcard in {key}"
        assert not {"escalate", "bind", "impersonate"} & set(rule["verbs"]), name
        assert "secrets" not in rule["resources"], name
        assert "pods/exec" not in rule["resources"], name
        if "customresourcedefinitions" in rule["resources"]:
            assert set(rule["verbs"]) <= {"list", "watch"}, "CRDs are read, never written"


def test_namespaced_mode_grants_work_only_in_the_watched_namespaces(helm: str, repo: Path) -> None:
    objects = render(helm, repo, *NAMESPACED)
    cluster_role = next(o for o in objects if o["kind"] == "ClusterRole")
    cluster_verbs = {verb for rule in cluster_role["rules"] for verb in rule["verbs"]}
    assert cluster_verbs == {"list", "watch"}
    roles = {(o["metadata"]["namespace"], o["metadata"]["name"]) for o in objects if o["kind"] == "Role"}
    assert ("team-a", "rel-mlpy-operator") in roles
    assert ("team-b", "rel-mlpy-operator") in roles
    deployment = next(o for o in objects if o["kind"] == "Deployment")
    env = {e["name"]: e.get("value") for e in deployment["spec"]["template"]["spec"]["containers"][0]["env"]}
    assert env["MLPY_OPERATOR_NAMESPACES"] == "team-a,team-b"
    drift_accounts = {o["metadata"]["namespace"] for o in objects if o["kind"] == "ServiceAccount"} - {
        "mlpy-system"
    }
    assert drift_accounts == {"team-a", "team-b"}


def test_cluster_wide_mode_uses_one_cluster_role(helm: str, repo: Path) -> None:
    objects = render(helm, repo)
    assert not [
        o for o in objects if o["kind"] in {"Role", "RoleBinding"} and "operator" in o["metadata"]["name"]
    ]
    deployment = next(o for o in objects if o["kind"] == "Deployment")
    env = {e["name"]: e.get("value") for e in deployment["spec"]["template"]["spec"]["containers"][0]["env"]}
    assert env["MLPY_OPERATOR_NAMESPACES"] == ""
    assert env["MLPY_SERVER_IMAGE"] == "ghcr.io/mlpy/mlpy-server:0.1.0"
    # The audit log's actor: the operator's ServiceAccount, from the downward API.
    (account,) = [
        e for e in deployment["spec"]["template"]["spec"]["containers"][0]["env"]
        if e["name"] == "MLPY_OPERATOR_SERVICE_ACCOUNT"
    ]  # fmt: skip
    assert account["valueFrom"] == {"fieldRef": {"fieldPath": "spec.serviceAccountName"}}


def test_operator_pod_is_locked_down(helm: str, repo: Path) -> None:
    deployment = next(o for o in render(helm, repo) if o["kind"] == "Deployment")
    spec = deployment["spec"]
    assert spec["replicas"] == 1
    assert spec["strategy"]["type"] == "Recreate"  # standalone kopf: never two operators at once
    pod = spec["template"]["spec"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["seccompProfile"]["type"] == "RuntimeDefault"
    container = pod["containers"][0]
    context = container["securityContext"]
    assert context["allowPrivilegeEscalation"] is False
    assert context["readOnlyRootFilesystem"] is True
    assert context["capabilities"]["drop"] == ["ALL"]
    assert container["resources"]["limits"]["memory"]
    for probe in ("startupProbe", "livenessProbe", "readinessProbe"):
        assert container[probe]["httpGet"]["port"] == "metrics"


def test_every_object_has_the_standard_labels(helm: str, repo: Path) -> None:
    for obj in render(helm, repo, *ALL_FEATURES, *NAMESPACED):
        labels = obj["metadata"].get("labels") or {}
        missing = STANDARD_LABELS - set(labels)
        assert not missing, f"{obj['kind']}/{obj['metadata']['name']} lacks {missing}"
        assert labels["app.kubernetes.io/instance"] == "rel"


def test_chart_crds_are_the_repository_crds(repo: Path) -> None:
    source = sorted(p.name for p in (repo / "crds").glob("*.yaml"))
    copied = sorted(p.name for p in (chart(repo) / "crds").glob("*.yaml"))
    assert source == copied
    _, mismatch, errors = filecmp.cmpfiles(repo / "crds", chart(repo) / "crds", source, shallow=False)
    assert not mismatch, f"helm/mlpy/crds differs from crds/ in {mismatch}: copy crds/*.yaml again"
    assert not errors


def test_dashboard_is_shared_with_compose_and_queries_real_metrics(helm: str, repo: Path) -> None:
    chart_copy = chart(repo) / "dashboards" / "mlpy.json"
    compose_copy = repo / "deploy" / "compose" / "grafana" / "dashboards" / "mlpy.json"
    assert chart_copy.read_bytes() == compose_copy.read_bytes()
    dashboard = json.loads(chart_copy.read_text())
    expressions = [t["expr"] for p in dashboard["panels"] for t in p.get("targets", [])]
    assert expressions
    known = ("mlpy_requests_total", "mlpy_request_duration_seconds_bucket", "mlpy_predictions_total",
             "mlpy_drift_", "mlpy_model_window_", "mlpy_operator_reconcile")  # fmt: skip
    assert all(any(metric in expr for metric in known) for expr in expressions)
    # One namespace at a time, or all: every model and drift series is filtered by the variable (the
    # operator's own series live in the operator's namespace, so they are not).
    assert "namespace" in {v["name"] for v in dashboard["templating"]["list"]}
    models = [e for e in expressions if "mlpy_operator_" not in e]
    assert all('namespace=~"$namespace"' in e for e in models)
    config_map = next(o for o in render(helm, repo, *ALL_FEATURES) if o["kind"] == "ConfigMap")
    assert json.loads(config_map["data"]["mlpy.json"]) == dashboard
    assert config_map["metadata"]["labels"]["grafana_dashboard"] == "1"


def test_prometheus_rules_pass_promtool_and_match_the_compose_alerts(
    helm: str, promtool: str, repo: Path, tmp_path: Path
) -> None:
    rule = next(o for o in render(helm, repo, *ALL_FEATURES) if o["kind"] == "PrometheusRule")
    alerts = {r["alert"] for g in rule["spec"]["groups"] for r in g["rules"]}
    assert {
        "MlpyDataDriftDetected",
        "MlpyDriftCheckStale",
        "MlpyModelHighErrorRate",
        "MlpyModelHighLatency",
    } <= alerts
    # Every alert links its runbook, and the runbook page has a section for it.
    runbooks = (repo / "docs" / "runbooks.md").read_text()
    for group in rule["spec"]["groups"]:
        for entry in group["rules"]:
            url = entry["annotations"]["runbook_url"]
            assert url.endswith(f"docs/runbooks.md#{entry['alert'].lower()}")
            assert f"## {entry['alert']}\n" in runbooks
    rules_file = tmp_path / "rules.yml"
    rules_file.write_text(yaml.safe_dump({"groups": rule["spec"]["groups"]}))
    done = subprocess.run([promtool, "check", "rules", str(rules_file)], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
    compose = yaml.safe_load((repo / "deploy" / "compose" / "alerts.yml").read_text())
    assert compose["groups"] == rule["spec"]["groups"], "regenerate deploy/compose/alerts.yml from the chart"


def test_service_monitor_scrapes_the_metrics_port(helm: str, repo: Path) -> None:
    objects = render(helm, repo, *ALL_FEATURES)
    monitor = next(o for o in objects if o["kind"] == "ServiceMonitor")
    service = next(o for o in objects if o["kind"] == "Service")
    assert monitor["spec"]["selector"]["matchLabels"].items() <= service["metadata"]["labels"].items()
    assert monitor["spec"]["endpoints"][0]["port"] == service["spec"]["ports"][0]["name"] == "metrics"


def test_pod_monitor_scrapes_the_serving_and_router_pods_the_operator_makes(helm: str, repo: Path) -> None:
    from mlpy_operator.builders import experiment, modelversion
    from mlpy_operator.builders.common import PodDefaults
    from mlpy_operator.specs import ModelVersionSpec

    monitor = next(o for o in render(helm, repo, *ALL_FEATURES) if o["kind"] == "PodMonitor")
    selector = monitor["spec"]["selector"]
    assert monitor["spec"]["namespaceSelector"] == {"any": True}
    spec = ModelVersionSpec.from_spec(
        {"model": "m", "version": 1, "artifact": {"uri": "s3://b/m", "sha256": "a" * 64}}
    )
    serving = modelversion.deployment("m-v1", "ns", spec)["spec"]["template"]
    router = experiment.deployment("ab", "ns", "m", {}, defaults=PodDefaults())["spec"]["template"]
    for template in (serving, router):
        labels = template["metadata"]["labels"]
        assert selector["matchLabels"].items() <= labels.items()
        for expression in selector["matchExpressions"]:
            assert labels[expression["key"]] in expression["values"]
        ports = {p["name"] for p in template["spec"]["containers"][0]["ports"]}
        assert monitor["spec"]["podMetricsEndpoints"][0]["port"] in ports
    namespaced = render(helm, repo, *ALL_FEATURES, *NAMESPACED)
    watched = next(o for o in namespaced if o["kind"] == "PodMonitor")["spec"]["namespaceSelector"]
    assert watched == {"matchNames": ["team-a", "team-b"]}


def test_the_pushgateway_is_a_chart_value(helm: str, repo: Path) -> None:
    objects = render(helm, repo, "--set", "stores.pushgateway=http://pushgateway.monitoring:9091")
    operator = next(o for o in objects if o["kind"] == "Deployment")
    env = {e["name"]: e.get("value") for e in operator["spec"]["template"]["spec"]["containers"][0]["env"]}
    assert env["MLPY_PUSHGATEWAY"] == "http://pushgateway.monitoring:9091"


def test_optional_objects_are_off_by_default(helm: str, repo: Path) -> None:
    kinds = {o["kind"] for o in render(helm, repo)}
    assert not {"ServiceMonitor", "PodMonitor", "PrometheusRule", "ConfigMap"} & kinds
