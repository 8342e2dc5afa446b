"""docker-compose.yml and its configuration files, checked without a container engine."""

from __future__ import annotations

import json
import re
import subprocess
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

SERVICES = {"api", "worker", "monitor", "postgres", "redis", "prometheus", "grafana", "nginx"}
MLPY_SERVICES = ("api", "worker", "monitor")
VARIABLE = re.compile(r"\$\{([A-Z0-9_]+)(:[-?][^}]*)?\}")


def compose_schema() -> dict[str, Any]:
    """The Compose specification's schema as vendored by check-jsonschema (Apache-2.0), nothing fetched."""
    vendored = resources.files("check_jsonschema.builtin_schemas.vendor") / "compose-spec.json"
    return dict(json.loads(vendored.read_text()))


@pytest.fixture(scope="module")
def compose(repo: Path) -> dict[str, Any]:
    return dict(yaml.safe_load((repo / "docker-compose.yml").read_text()))


def test_compose_file_validates_against_the_compose_specification(compose: dict[str, Any]) -> None:
    jsonschema.validate(compose, compose_schema())


def test_the_schema_check_catches_a_mistake(compose: dict[str, Any]) -> None:
    broken = json.loads(json.dumps(compose))
    broken["services"]["api"]["depends_on"] = {"postgres": {"condition": "service_happy"}}
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(broken, compose_schema())


def test_the_stack_has_every_service_and_only_nginx_publishes(compose: dict[str, Any]) -> None:
    services = compose["services"]
    assert set(services) == SERVICES
    assert [name for name, spec in services.items() if spec.get("ports")] == ["nginx"]


def test_images_are_pinned(compose: dict[str, Any]) -> None:
    for name, spec in compose["services"].items():
        if name in MLPY_SERVICES:
            assert spec["build"]["dockerfile"] == "Dockerfile.server"
            continue
        image = spec["image"]
        assert re.search(r":v?\d+\.\d+", image), (
            f"{name}: pin {image} to a release (postgres has no patch level)"
        )


def test_mlpy_services_run_locked_down(compose: dict[str, Any]) -> None:
    for name in MLPY_SERVICES:
        spec = compose["services"][name]
        assert spec["user"] == "10001:10001"
        assert spec["read_only"] is True
        assert spec["cap_drop"] == ["ALL"]
        assert "no-new-privileges:true" in spec["security_opt"]
        assert spec["environment"]["MLPY_STORE"].startswith("postgresql://")


def test_no_secret_is_committed(repo: Path, compose: dict[str, Any]) -> None:
    """Passwords come from .env, and compose refuses to start without them."""
    text = (repo / "docker-compose.yml").read_text()
    for variable in ("POSTGRES_PASSWORD", "GRAFANA_ADMIN_PASSWORD"):
        uses = re.findall(r"\$\{" + variable + r"(:[-?][^}]*)?\}", text)
        assert uses, variable
        assert all(use.startswith(":?") for use in uses), f"{variable} must have no default"
    assert "password" not in json.dumps(compose).lower().replace("_password", "")


def test_env_example_names_every_variable(repo: Path) -> None:
    text = (repo / "docker-compose.yml").read_text()
    used = {m.group(1) for m in VARIABLE.finditer(text)} - {"MLPY_SERVER_IMAGE"}
    example = (repo / ".env.example").read_text()
    named = {
        line.split("=", 1)[0] for line in example.splitlines() if "=" in line and not line.startswith("#")
    }
    assert used <= named, f".env.example lacks {sorted(used - named)}"


def test_prometheus_scrapes_the_services_compose_exposes(repo: Path, compose: dict[str, Any]) -> None:
    config = yaml.safe_load((repo / "deploy" / "compose" / "prometheus.yml").read_text())
    targets = {t for job in config["scrape_configs"] for g in job["static_configs"] for t in g["targets"]}
    for target in targets - {"localhost:9090"}:
        host, port = target.split(":")
        assert port in compose["services"][host]["expose"], target
    assert {"api:8000", "monitor:9100"} <= targets
    api = compose["services"]["api"]["command"]
    assert api[api.index("--port") + 1] == "8000"
    monitor = compose["services"]["monitor"]["command"]
    assert monitor[monitor.index("--metrics-port") + 1] == "9100"


def test_prometheus_config_passes_promtool(promtool: str, repo: Path, tmp_path: Path) -> None:
    config = yaml.safe_load((repo / "deploy" / "compose" / "prometheus.yml").read_text())
    config["rule_files"] = [str(repo / "deploy" / "compose" / "alerts.yml")]
    path = tmp_path / "prometheus.yml"
    path.write_text(yaml.safe_dump(config))
    done = subprocess.run(
        [promtool, "check", "config", str(path)], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_grafana_is_provisioned_with_prometheus_and_the_dashboard(
    repo: Path, compose: dict[str, Any]
) -> None:
    base = repo / "deploy" / "compose" / "grafana"
    source = yaml.safe_load((base / "provisioning" / "datasources" / "prometheus.yml").read_text())
    assert source["datasources"][0]["url"] == "http://prometheus:9090"
    provider = yaml.safe_load((base / "provisioning" / "dashboards" / "mlpy.yml").read_text())
    mounts = dict(v.split(":")[:2] for v in compose["services"]["grafana"]["volumes"] if v.startswith("./"))
    assert mounts["./deploy/compose/grafana/dashboards"] == provider["providers"][0]["options"]["path"]
    assert json.loads((base / "dashboards" / "mlpy.json").read_text())["uid"] == "mlpy-overview"


def test_nginx_template_renders_to_a_valid_configuration(
    nginx: str, repo: Path, compose: dict[str, Any], tmp_path: Path
) -> None:
    """What the nginx image renders from the template (the compose service's environment), then nginx -t."""
    environment = compose["services"]["nginx"]["environment"]
    template = (repo / "deploy" / "compose" / "nginx" / "default.conf.template").read_text()
    assert set(re.findall(r"\$\{([A-Z0-9_]+)\}", template)) == set(environment)
    rendered = template
    for name, value in environment.items():
        # Service names resolve only on the compose network; the syntax check needs a resolvable host.
        rendered = rendered.replace(
            "${" + name + "}", str(value).replace("api:", "127.0.0.1:").replace("grafana:", "127.0.0.1:")
        )
    (tmp_path / "site.conf").write_text(rendered)
    conf = tmp_path / "nginx.conf"
    conf.write_text(
        f"pid {tmp_path / 'nginx.pid'};\nerror_log {tmp_path / 'error.log'};\nevents {{}}\n"
        f"http {{ access_log off; include {tmp_path / 'site.conf'}; }}\n"
    )
    done = subprocess.run([nginx, "-t", "-c", str(conf), "-p", str(tmp_path)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
