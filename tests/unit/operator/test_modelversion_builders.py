"""ModelVersion children built from a spec, compared with reviewed YAML."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from mlpy_operator.builders import modelversion as build
from mlpy_operator.builders.common import PodDefaults
from mlpy_operator.constants import LABEL_MODEL_VERSION
from mlpy_operator.errors import SpecError
from mlpy_operator.specs import ModelVersionSpec
from mlpy_server import ServerSettings

EXPECTED = Path(__file__).parent / "expected"

SPEC: dict[str, Any] = {
    "model": "credit-risk",
    "version": 3,
    "artifact": {"uri": "s3://models/credit-risk/3/model.skops", "sha256": "a" * 64},
    "stage": "production",
    "replicas": 2,
    "resources": {"requests": {"cpu": "100m", "memory": "256Mi"}},
    "serving": {"env": [{"name": "MLPY_LOG_LEVEL", "value": "debug"}], "grpc": True},
}


#: What the chart's values give the serving pods: where to log predictions, S3, the credentials.
SERVER = PodDefaults(
    env={
        "MLPY_PREDLOG_STORE": "postgresql://mlpy@db/mlpy",
        "MLPY_PREDLOG_SAMPLE_RATE": "1",
        "MLPY_S3_ENDPOINT_URL": "http://minio:9000",
    },
    secret="mlpy-stores",
    resources={"requests": {"cpu": "50m", "memory": "128Mi"}},  # the spec's own resources win
)


def test_children_match_the_reviewed_yaml() -> None:
    spec = ModelVersionSpec.from_spec(SPEC)
    built = [
        build.deployment("credit-risk-v3", "models", spec, SERVER),
        build.service("credit-risk-v3", "models", spec),
        build.stable_service("credit-risk", "models", "credit-risk-v3"),
    ]
    expected = list(yaml.safe_load_all((EXPECTED / "modelversion.yaml").read_text()))
    assert built == expected


def test_without_grpc_the_version_offers_http_alone() -> None:
    spec = ModelVersionSpec.from_spec({**SPEC, "serving": {}})
    container = build.deployment("credit-risk-v3", "models", spec)["spec"]["template"]["spec"]["containers"][
        0
    ]
    assert "--grpc-port" not in container["args"]
    assert [p["name"] for p in container["ports"]] == ["http"]
    assert [p["name"] for p in build.service("credit-risk-v3", "models", spec)["spec"]["ports"]] == ["http"]


def test_user_env_overrides_operator_env_and_image() -> None:
    spec = ModelVersionSpec.from_spec(
        {
            **SPEC,
            "serving": {
                "image": "registry.local/server:dev",
                "env": [{"name": "MLPY_HOME", "value": "/data"}],
            },
        }
    )
    container = build.deployment("x", "ns", spec)["spec"]["template"]["spec"]["containers"][0]
    assert container["image"] == "registry.local/server:dev"
    homes = [e["value"] for e in container["env"] if e["name"] == "MLPY_HOME"]
    assert homes == ["/data"]


def test_changing_the_version_changes_the_pod_template() -> None:
    old = build.deployment("m", "ns", ModelVersionSpec.from_spec(SPEC))
    new_spec = {**SPEC, "version": 4, "artifact": {"uri": "s3://m/4", "sha256": "b" * 64}}
    new = build.deployment("m", "ns", ModelVersionSpec.from_spec(new_spec))
    assert old["spec"]["template"] != new["spec"]["template"]
    assert old["spec"]["selector"] == new["spec"]["selector"]


def test_pickle_needs_explicit_trust() -> None:
    pickled = {**SPEC, "artifact": {**SPEC["artifact"], "format": "joblib"}}
    with pytest.raises(SpecError, match="trustPickle"):
        ModelVersionSpec.from_spec(pickled)
    trusted = ModelVersionSpec.from_spec({**pickled, "serving": {"trustPickle": True}})
    env = {e["name"]: e["value"] for e in build.server_env(trusted)}
    assert env["MLPY_MODEL_FORMAT"] == "joblib"
    # Read back by the model server itself: the variable names must be the ones it reads.
    assert ServerSettings.from_env(env).trust_pickle is True


def test_serving_settings_reach_the_server_as_it_reads_them() -> None:
    spec = ModelVersionSpec.from_spec(
        {**SPEC, "serving": {"compiled": True, "batching": {"maxRows": 32, "maxWaitMs": 2.5}}}
    )
    env = {e["name"]: e["value"] for e in build.server_env(spec)}
    settings = ServerSettings.from_env(env)
    assert (settings.compiled, settings.batching_max_rows, settings.batching_max_wait_s) == (True, 32, 0.0025)
    plain = ServerSettings.from_env(
        {e["name"]: e["value"] for e in build.server_env(ModelVersionSpec.from_spec(SPEC))}
    )
    assert (plain.compiled, plain.batching_max_rows, plain.trust_pickle) == (False, 0, False)


def test_incomplete_spec_is_a_spec_error() -> None:
    with pytest.raises(SpecError, match="incomplete"):
        ModelVersionSpec.from_spec({"model": "m"})


def test_pod_fields_platform_teams_set_reach_the_serving_pods() -> None:
    serving = {
        "serviceAccountName": "s3-reader",
        "imagePullSecrets": [{"name": "team-registry"}],
        "nodeSelector": {"pool": "inference"},
        "tolerations": [{"key": "gpu", "operator": "Exists", "effect": "NoSchedule"}],
        "affinity": {"nodeAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": []}},
        "topologySpreadConstraints": [{"maxSkew": 1, "topologyKey": "topology.kubernetes.io/zone"}],
        "podLabels": {"team": "risk", LABEL_MODEL_VERSION: "hijack"},
        "podAnnotations": {"sidecar.istio.io/inject": "false"},
    }
    spec = ModelVersionSpec.from_spec({**SPEC, "serving": serving})
    defaults = PodDefaults(image_pull_secrets=("chart-wide", "team-registry"))
    template = build.deployment("m-v3", "ns", spec, defaults)["spec"]["template"]
    pod = template["spec"]
    assert pod["serviceAccountName"] == "s3-reader"
    assert pod["imagePullSecrets"] == [{"name": "chart-wide"}, {"name": "team-registry"}]
    assert pod["nodeSelector"] == {"pool": "inference"}
    assert pod["tolerations"] == serving["tolerations"]
    assert pod["affinity"] == serving["affinity"]
    assert pod["topologySpreadConstraints"] == serving["topologySpreadConstraints"]
    assert template["metadata"]["labels"]["team"] == "risk"
    assert template["metadata"]["labels"][LABEL_MODEL_VERSION] == "m-v3"  # the selector's label wins
    assert template["metadata"]["annotations"]["sidecar.istio.io/inject"] == "false"
    assert pod["automountServiceAccountToken"] is False


def test_a_malformed_pod_field_is_a_spec_error() -> None:
    with pytest.raises(SpecError, match=r"modelversion\.spec\.serving: a pod field is malformed"):
        ModelVersionSpec.from_spec({**SPEC, "serving": {"imagePullSecrets": ["just-a-name"]}})


def test_declared_sensitive_features_reach_the_server_from_the_registry_manifest(tmp_path: Path) -> None:
    from sklearn.linear_model import LogisticRegression

    from mlpy.registry import ModelRegistry, model_version_manifest

    registry = ModelRegistry(f"sqlite:///{tmp_path / 'r.db'}", str(tmp_path / "a"))
    fitted = LogisticRegression().fit([[0.0], [1.0]], [0, 1])
    version = registry.register("credit-risk", fitted, sensitive_features=["sex", "age_band"])
    manifest = model_version_manifest(version)
    assert manifest["spec"]["serving"] == {"sensitiveFeatures": ["sex", "age_band"]}
    container = build.deployment("credit-risk-v1", "models", ModelVersionSpec.from_spec(manifest["spec"]))
    env = {e["name"]: e.get("value") for e in container["spec"]["template"]["spec"]["containers"][0]["env"]}
    assert env["MLPY_MODEL_SENSITIVE_FEATURES"] == "sex,age_band"
    # What the server makes of it: exactly these names are accepted beside the features.
    uri_model = ServerSettings.from_env(env).uri_model
    assert uri_model is not None
    assert uri_model.sensitive_features == ("sex", "age_band")
    plain = model_version_manifest(registry.register("plain", fitted))
    assert "serving" not in plain["spec"]
