"""`securact-dev up --replicas 2`: two processes per service on their own ports, sharing the
service's data directory and the stack's keys (one host), and the state `status` reads back."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from devstack import supervisor
from devstack.stack import SERVICE_PORTS, SERVICES, StackLayout, process_specs, stack_environment


def test_two_replicas_of_every_service_listen_on_base_and_base_plus_100(tmp_path: Path) -> None:
    specs = process_specs(StackLayout(tmp_path), list(SERVICES), replicas=2)
    ports = {spec.name: spec.port for spec in specs}
    for name, port in SERVICE_PORTS.items():
        assert ports[name] == port
        assert ports[f"{name}-2"] == port + 100
    assert len(set(ports.values())) == len(specs) == 2 * len(SERVICES)
    for spec in specs:
        assert spec.is_service
        assert spec.ready_url == f"http://127.0.0.1:{spec.port}/health/ready"
        assert dict(spec.env) == {f"SECURACT_{spec.service.upper()}_HTTP_PORT": str(spec.port)}
    # Both replicas of a service run the same program: what they share comes from one env.
    assert {s.argv for s in specs if s.service == "audit"} == {
        next(s.argv for s in specs if s.name == "audit")
    }


def test_replicas_share_the_data_directory_and_the_keys(tmp_path: Path) -> None:
    layout = StackLayout(tmp_path)
    env = stack_environment(layout, {})
    text = supervisor.procfile_text(layout, process_specs(layout, ["delivery"], replicas=2))
    first, second = text.splitlines()
    assert first.startswith("delivery: exec env SECURACT_DELIVERY_HTTP_PORT=8103 ")
    assert second.startswith("delivery-2: exec env SECURACT_DELIVERY_HTTP_PORT=8203 ")
    assert "delivery-2.log" in second
    # Nothing per replica but the port: data dir, keys and broker come from the stack's env.
    for key in ("SECURACT_DATA_DIR", "SECURACT_KEK_FILE", "SECURACT_SIGNING_KEY_FILE"):
        assert key not in text
        assert env[key].startswith(str(layout.var))


def test_one_replica_is_the_stack_as_before(tmp_path: Path) -> None:
    specs = process_specs(StackLayout(tmp_path), ["mailbox", "identity"])
    assert [(s.name, s.port) for s in specs] == [("mailbox", 1025), ("identity", 8101)]
    assert not specs[0].is_service


def test_replica_count_is_bounded(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="replicas"):
        process_specs(StackLayout(tmp_path), ["identity"], replicas=0)
    with pytest.raises(ValueError, match="replicas"):
        process_specs(StackLayout(tmp_path), ["identity"], replicas=9)


def test_status_reads_back_the_services_and_their_replica_count(tmp_path: Path) -> None:
    layout = StackLayout(tmp_path)
    layout.run_dir.mkdir(parents=True)
    specs = process_specs(layout, ["mailbox", "audit"], replicas=2)
    names = list(dict.fromkeys(s.service or s.name for s in specs))
    state = {"processes": [s.name for s in specs], "names": names, "replicas": 2}
    layout.state_file.write_text(json.dumps(state))
    assert supervisor.started_processes(layout) == ["mailbox", "audit"]
    assert supervisor.started_replicas(layout) == 2
    # A state file of an earlier build (no replicas) reads as one replica.
    layout.state_file.write_text('{"processes": ["mailbox", "audit"]}')
    assert supervisor.started_processes(layout) == ["mailbox", "audit"]
    assert supervisor.started_replicas(layout) == 1
