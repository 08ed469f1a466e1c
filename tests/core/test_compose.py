"""docker-compose.yml: parses, every long-running service has a healthcheck that works, and the api believes
forwarded client addresses only from a configured proxy (default: nobody outside its container)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import yaml

COMPOSE = Path(__file__).resolve().parents[2] / "docker-compose.yml"
# One-off jobs: they exit when done (others wait for `service_completed_successfully`), nothing to check.
ONE_OFF = {"migrate"}


@pytest.fixture(scope="module")
def services() -> dict[str, Any]:
    return dict(yaml.safe_load(COMPOSE.read_text())["services"])


def _default(value: str, variable: str) -> str:
    """The default of `${VARIABLE:-default}` inside a compose value."""
    m = re.search(r"\$\{" + variable + r":-([^}]*)\}", value)
    assert m, f"{value!r} does not take ${variable} with a default"
    return m.group(1)


def test_expected_services(services: dict[str, Any]) -> None:
    assert {"api", "worker", "beat", "postgres", "redis", "migrate"} <= set(services)


def test_every_long_running_service_has_a_healthcheck(services: dict[str, Any]) -> None:
    for name, svc in services.items():
        if name in ONE_OFF:
            assert svc.get("restart") == "no", f"{name} is treated as a one-off job but restarts"
            continue
        check = svc.get("healthcheck")
        assert check and check.get("test"), f"service {name} has no healthcheck"
        assert check["test"][0] in ("CMD", "CMD-SHELL"), (name, check["test"])
        assert not check.get("disable"), name


def test_api_trusts_forwarded_headers_only_from_configured_proxies(services: dict[str, Any]) -> None:
    api = services["api"]
    command = api["command"]
    assert "*" not in command, "the api must not trust X-Forwarded-For from everyone"
    if "--forwarded-allow-ips" in command:
        value = command[command.index("--forwarded-allow-ips") + 1]
        assert _default(value, "FORWARDED_ALLOW_IPS") == "127.0.0.1"
    trusted = api["environment"]["FORWARDED_ALLOW_IPS"]
    assert _default(trusted, "FORWARDED_ALLOW_IPS") == "127.0.0.1"
    # The rest of the shared environment is still there (the merge did not replace it).
    assert {"BWV_ENVIRONMENT", "DATABASE_URL", "REDIS_URL", "BWV_DATA_DIR"} <= set(api["environment"])
    # Published on the host's loopback unless the operator says otherwise.
    (published,) = api["ports"]
    assert _default(published, "BWV_API_PUBLISH").startswith("127.0.0.1:"), published


def _beat_check(services: dict[str, Any]) -> tuple[str, str]:
    beat = services["beat"]
    command = beat["command"]
    schedule = command[command.index("--schedule") + 1]
    test = beat["healthcheck"]["test"]
    assert test[:3] == ["CMD", "python", "-c"], test
    return schedule, test[3]


def test_beat_healthcheck_watches_its_own_schedule_file(services: dict[str, Any]) -> None:
    schedule, code = _beat_check(services)
    assert schedule in code, f"the beat healthcheck does not look at {schedule}"
    # Fresh for longer than beat's own sync period (180 s), or a healthy beat would flap.
    window = int(re.search(r"<\s*(\d+)", code).group(1))  # type: ignore[union-attr]
    assert 180 < window <= 900, window


@pytest.mark.parametrize(
    ("files", "age_s", "healthy"),
    [
        ([""], 10, True),  # dbm.gnu: the name itself
        ([".dat", ".dir", ".bak"], 10, True),  # dbm.dumb (python:3.11-slim without gdbm)
        ([".db"], 10, True),  # dbm.ndbm
        ([".dat", ".dir"], 600, False),  # beat stopped ticking 10 minutes ago
        ([], 0, False),  # beat never started
    ],
)
def test_beat_healthcheck_runs(
    services: dict[str, Any], tmp_path: Path, files: list[str], age_s: int, healthy: bool
) -> None:
    schedule, code = _beat_check(services)
    here = tmp_path / "celerybeat-schedule"
    for suffix in files:
        path = Path(f"{here}{suffix}")
        path.write_bytes(b"x")
        then = time.time() - age_s
        os.utime(path, (then, then))
    result = subprocess.run([sys.executable, "-c", code.replace(schedule, str(here))], check=False, timeout=30)
    assert (result.returncode == 0) is healthy
