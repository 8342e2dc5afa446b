"""The docker-compose stack without a container engine: the same services' commands as processes.

api, worker and monitor run the exact command lines of docker-compose.yml (the image's ENTRYPOINT
plus the service's command, with its environment) against real PostgreSQL and Redis; nginx and
Prometheus (Debian's packages) run the stack's own configuration files. Only addresses change:
loopback ports instead of service names. A request through nginx reaches a prediction, and the
monitor's drift check of the logged inputs lands in Prometheus.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
import yaml

from localk8s import free_ports

pytestmark = [pytest.mark.integration, pytest.mark.slow]

REPO = Path(__file__).resolve().parents[3]
COMPOSE = REPO / "docker-compose.yml"
DEPLOY = REPO / "deploy" / "compose"
IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}
MODEL = "credit"
INTERPOLATION = re.compile(r"\$\{(?P<name>[A-Z0-9_]+)(?:(?P<op>:-|:\?)(?P<arg>[^}]*))?\}")


def interpolate(value: str, env: Mapping[str, str]) -> str:
    """Compose's ${VAR}, ${VAR:-default} and ${VAR:?error} (enough for this file)."""

    def one(match: re.Match[str]) -> str:
        name, op, arg = match.group("name"), match.group("op"), match.group("arg")
        if env.get(name):
            return env[name]
        if op == ":?":
            raise AssertionError(f"compose would refuse to start: {name}: {arg}")
        return arg or ""

    return INTERPOLATION.sub(one, value)


def wait_for(what: str, check: Callable[[], Any], timeout: float, logs: Callable[[], str]) -> Any:
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        try:
            last = check()
        except (OSError, ValueError, KeyError) as exc:
            last = exc
        if last and not isinstance(last, Exception):
            return last
        time.sleep(0.5)
    raise AssertionError(f"timed out waiting for {what}; last saw {last!r}\n{logs()}")


def need_binary(name: str) -> str:
    path = shutil.which(name) or (f"/usr/sbin/{name}" if Path(f"/usr/sbin/{name}").exists() else None)
    if path:
        return path
    message = f"{name} is not installed (apt-get install {name})"
    if IN_CI:
        pytest.fail(f"CI must provide {message}", pytrace=False)
    pytest.skip(message)


def image_entrypoint() -> list[str]:
    for line in (REPO / "Dockerfile.server").read_text().splitlines():
        if line.startswith("ENTRYPOINT "):
            return list(json.loads(line.removeprefix("ENTRYPOINT ")))
    raise AssertionError("Dockerfile.server has no ENTRYPOINT")


def replace_flag(argv: list[str], flag: str, value: str) -> list[str]:
    """The same command with one flag's value changed (an address); the flag must be there."""
    assert flag in argv, f"{flag} missing from {argv}"
    out = list(argv)
    out[out.index(flag) + 1] = value
    return out


class Stack:
    """The processes of one test; everything is stopped and its logs kept in ``tmp``."""

    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.procs: dict[str, subprocess.Popen[bytes]] = {}

    def start(self, name: str, argv: list[str], env: Mapping[str, str] | None = None) -> None:
        log = open(self.tmp / f"{name}.log", "wb")  # noqa: SIM115 - closed with the process
        self.procs[name] = subprocess.Popen(
            argv,
            env=dict(env) if env is not None else None,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            cwd=self.tmp,
            start_new_session=True,
        )

    def logs(self) -> str:
        parts = []
        for name in self.procs:
            text = (self.tmp / f"{name}.log").read_text(errors="replace").splitlines()[-25:]
            parts.append(f"--- {name} (exit {self.procs[name].poll()}) ---\n" + "\n".join(text))
        return "\n".join(parts)

    def stop(self) -> None:
        for proc in self.procs.values():
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        deadline = time.monotonic() + 20
        for proc in self.procs.values():
            try:
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[Stack]:
    running = Stack(tmp_path)
    try:
        yield running
    finally:
        running.stop()


def http_json(url: str, body: Any = None, timeout: float = 10) -> tuple[int, Any]:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as resp:
            return resp.status, json.loads(resp.read() or b"null")
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"null")


def render_nginx(tmp: Path, values: Mapping[str, str]) -> Path:
    """What the nginx image does with its templates (envsubst of set variables), in a minimal nginx.conf."""
    template = (DEPLOY / "nginx" / "default.conf.template").read_text()
    used = set(re.findall(r"\$\{([A-Z0-9_]+)\}", template))
    assert used == set(values), f"the template uses {sorted(used)}"
    for name, value in values.items():
        template = template.replace("${" + name + "}", value)
    site = tmp / "default.conf"
    site.write_text(template)
    conf = tmp / "nginx.conf"
    temp = tmp / "nginx-temp"
    temp.mkdir()
    conf.write_text(
        f"daemon off;\nworker_processes 1;\npid {tmp / 'nginx.pid'};\nerror_log {tmp / 'nginx-error.log'};\n"
        "events { worker_connections 256; }\n"
        f"http {{\n  access_log {tmp / 'nginx-access.log'};\n"
        + "".join(
            f"  {kind}_temp_path {temp / kind};\n"
            for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
        )
        + f"  include {site};\n}}\n"
    )
    return conf


def render_prometheus(tmp: Path, targets: Mapping[str, str], scrape: str = "1s") -> Path:
    """The stack's prometheus.yml with loopback targets and a fast scrape; jobs, paths, rules unchanged."""
    config = yaml.safe_load((DEPLOY / "prometheus.yml").read_text())
    config["global"]["scrape_interval"] = scrape
    config["global"]["evaluation_interval"] = scrape
    shutil.copy(DEPLOY / "alerts.yml", tmp / "alerts.yml")
    assert config["rule_files"] == ["/etc/prometheus/alerts.yml"]
    config["rule_files"] = [str(tmp / "alerts.yml")]
    seen = set()
    for job in config["scrape_configs"]:
        job.pop("scrape_interval", None)
        for group in job["static_configs"]:
            group["targets"] = [targets[t] for t in group["targets"]]
            seen.update(group["targets"])
    assert seen == set(targets.values())
    path = tmp / "prometheus.yml"
    path.write_text(yaml.safe_dump(config))
    return path


def prometheus_value(base: str, query: str) -> float | None:
    url = f"{base}/api/v1/query?" + urllib.parse.urlencode({"query": query})
    status, body = http_json(url)
    results = body["data"]["result"] if status == 200 else []
    return float(results[0]["value"][1]) if results else None


def test_compose_services_serve_through_nginx_and_report_drift_to_prometheus(
    stack: Stack, postgres_url: str, redis_url: str, tmp_path: Path
) -> None:
    nginx, prometheus = need_binary("nginx"), need_binary("prometheus")
    compose = yaml.safe_load(COMPOSE.read_text())
    services = compose["services"]
    entrypoint = image_entrypoint()
    assert entrypoint == ["mlpy"]
    mlpy = str(Path(sys.executable).with_name("mlpy"))

    # The values compose would read from .env, then the addresses of this machine's services.
    dotenv = {"POSTGRES_PASSWORD": "unused-here", "MLPY_MODEL": MODEL}
    local = {
        "MLPY_STORE": postgres_url,
        "MLPY_REDIS_URL": redis_url,
        "MLPY_ARTIFACTS": str(tmp_path / "artifacts"),
        "MLPY_HOME": str(tmp_path / "home"),
        "MLPY_WORKER_QUEUE": f"compose-{uuid.uuid4().hex[:8]}",
    }
    base_env = {k: v for k, v in os.environ.items() if not k.startswith("MLPY_")}

    def service(name: str) -> tuple[list[str], dict[str, str]]:
        spec = services[name]
        argv = [mlpy] + [interpolate(part, dotenv) for part in spec["command"]]
        env = {key: interpolate(str(value), dotenv) for key, value in spec["environment"].items()}
        assert set(local) - {"MLPY_WORKER_QUEUE"} <= set(env), f"{name} misses store/queue settings"
        return argv, {**base_env, **env, **local}

    api_port, monitor_port, nginx_port, prom_port, grafana_port = free_ports(5)

    argv, env = service("worker")
    assert argv[1:] == ["worker", "run", "--bootstrap", MODEL]
    stack.start("worker", argv, env)

    argv, env = service("api")
    assert env["MLPY_PREDLOG_SAMPLE_RATE"] == "1.0"
    argv = replace_flag(replace_flag(argv, "--host", "127.0.0.1"), "--port", str(api_port))
    stack.start("api", argv, env)

    argv, env = service("monitor")
    argv = replace_flag(argv, "--metrics-port", str(monitor_port))
    argv = [*replace_flag(argv, "--interval", "2"), "--metrics-host", "127.0.0.1"]
    stack.start("monitor", argv, env)

    conf = render_nginx(
        tmp_path,
        {
            "NGINX_PORT": f"127.0.0.1:{nginx_port}",
            "MLPY_API_UPSTREAM": f"127.0.0.1:{api_port}",
            "MLPY_GRAFANA_UPSTREAM": f"127.0.0.1:{grafana_port}",
        },
    )
    stack.start("nginx", [nginx, "-c", str(conf), "-p", str(tmp_path)])
    prom_config = render_prometheus(
        tmp_path,
        {"api:8000": f"127.0.0.1:{api_port}", "monitor:9100": f"127.0.0.1:{monitor_port}",
         "localhost:9090": f"127.0.0.1:{prom_port}"},
    )  # fmt: skip
    stack.start(
        "prometheus",
        [
            prometheus,
            f"--config.file={prom_config}",
            f"--storage.tsdb.path={tmp_path / 'tsdb'}",
            f"--web.listen-address=127.0.0.1:{prom_port}",
        ],
    )
    edge = f"http://127.0.0.1:{nginx_port}"
    prom = f"http://127.0.0.1:{prom_port}"

    # The worker trains and registers the model; the api loads it; nginx answers ready.
    wait_for("the model served through nginx", lambda: http_json(f"{edge}/readyz")[0] == 200, 240, stack.logs)
    from mlpy.demo.data import TARGET, credit_data, shifted_window

    reference = credit_data(400, seed=7).drop(columns=[TARGET])
    row = reference.iloc[0].to_dict()
    status, body = http_json(f"{edge}/predict", {"features": row})
    assert status == 200, body
    assert body["model"] == MODEL
    assert body["prediction"] in (0, 1)
    # The edge's request id reached the server (one id from nginx to the prediction log).
    assert re.fullmatch(r"[0-9a-f]{32}", body["request_id"]), body

    # Inputs that drifted (lower incomes, more students) go through the same path and get logged.
    drifted = shifted_window(credit_data(2000, seed=3), rows=300, seed=5)
    status, body = http_json(f"{edge}/predict/batch", {"instances": drifted.to_dict(orient="records")})
    assert status == 200, body
    assert len(body["predictions"]) == 300

    # The monitor's next run judges the logged window; Prometheus scrapes its figures.
    def scraped(metric: str, labels: str = "") -> Callable[[], float | None]:
        selector = f'dataset="{MODEL}", job="mlpy-monitor"{labels}'
        return lambda: prometheus_value(prom, f"{metric}{{{selector}}}")

    share = wait_for("a drift share above 0 in Prometheus", scraped("mlpy_drift_share"), 120, stack.logs)
    assert share > 0
    assert scraped("mlpy_drift_feature_drifted", ', feature="income"')() == 1.0
    assert scraped("mlpy_drift_feature_drifted", ', feature="age"')() == 0.0
    assert scraped("mlpy_drift_dataset_drift")() == float(share >= 0.5)
    served = wait_for(
        "the api's request counter in Prometheus",
        lambda: prometheus_value(prom, f'sum(mlpy_requests_total{{job="mlpy-api", model="{MODEL}"}})'),
        60,
        stack.logs,
    )
    assert served >= 2
    # The metrics endpoint stays inside: nginx does not proxy it.
    with urllib.request.urlopen(f"{edge}/nginx-health", timeout=5) as health:
        assert health.read() == b"ok\n"
    request = urllib.request.Request(f"{edge}/metrics")
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=5)
    assert refused.value.code == 404
