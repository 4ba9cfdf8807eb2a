"""`SECURACT_KEYS=pkcs11 make up`: the stack's token is made once under var/softhsm/, and a
service process configured by the stack's environment keeps its keys there under its labels."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from devstack.keys import ensure_dev_token
from devstack.stack import DEV_TOKEN_LABEL, StackLayout, stack_environment
from shared.crypto.pkcs11_token import Pkcs11Config

ROOT = Path(__file__).resolve().parents[3]

SERVICE_SCRIPT = textwrap.dedent(
    """
    import asyncio, json
    from audit.settings import Settings as AuditSettings
    from delivery.settings import Settings as DeliverySettings
    from shared.clock import SystemClock
    from shared.crypto import KeyRing
    from shared.crypto.backends import kek_source, signing_ring

    async def main():
        out = {}
        for settings in (AuditSettings(), DeliverySettings()):
            ring = KeyRing(kek_source(settings, SystemClock()))
            key, wrapped = await ring.new_data_key("act-1")
            assert (await ring.unwrap(wrapped, "act-1")).material == key.material
            signer = signing_ring(settings, "securact.dev", SystemClock())
            out[settings.service_name] = {
                "kek_id": wrapped.kek_id, "signing_key": signer.active.key_id
            }
        print(json.dumps(out))

    asyncio.run(main())
    """
)


def test_the_stack_token_is_made_once_and_serves_each_service_under_its_labels(
    softhsm: Pkcs11Config, tmp_path: Path
) -> None:
    layout = StackLayout(tmp_path)
    # The session's own token config stays out: the stack makes its own under var/.
    caller = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("SECURACT_") and k != "SOFTHSM2_CONF"
    }
    env = stack_environment(layout, {**caller, "SECURACT_KEYS": "pkcs11"})
    assert env["SECURACT_PKCS11_TOKEN_LABEL"] == DEV_TOKEN_LABEL
    said: list[str] = []
    ensure_dev_token(env, said.append)
    ensure_dev_token(env, said.append)  # the second `make up` keeps the token
    assert said == [f"created the SoftHSM2 token {DEV_TOKEN_LABEL} in {layout.softhsm_dir}"]
    pin_file = Path(env["SECURACT_PKCS11_PIN_FILE"])
    assert stat.S_IMODE(pin_file.stat().st_mode) == 0o600

    def run_services() -> dict[str, dict[str, str]]:
        done = subprocess.run(
            [sys.executable, "-c", SERVICE_SCRIPT],
            env=env,
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert done.returncode == 0, done.stderr[-2000:]
        assert pin_file.read_text().strip() not in done.stdout + done.stderr
        answer: dict[str, dict[str, str]] = json.loads(done.stdout)
        return answer

    first = run_services()
    assert first["audit"]["kek_id"] == "securact/audit/kek"
    assert first["delivery"]["kek_id"] == "securact/delivery/kek"
    # A restart (or a second replica) finds the same keys in the token.
    assert run_services() == first


def test_pkcs11_mode_without_softhsm_says_what_to_install(tmp_path: Path) -> None:
    layout = StackLayout(tmp_path)
    env = stack_environment(layout, {"SECURACT_KEYS": "pkcs11"})
    env["SECURACT_PKCS11_MODULE"] = str(tmp_path / "absent.so")
    with pytest.raises(RuntimeError, match=r"ensure-softhsm\.sh"):
        ensure_dev_token(env, print)
