"""The README's third-party receipt check, run as written (bash, jq, base64 and the installed
`securact-audit`) over records carrying real receipts: a log with two running witnesses and a
real RFC 3161 TSA (`openssl ts`). Its keys are given the way the README takes them from
`GET /v1/verifier-keys` and `GET /v1/witnesses`; a changed cosignature stops the loop."""

from __future__ import annotations

import base64
import json
import os
import re
import subprocess
from pathlib import Path

from tests.fixtures.tsa import LocalTsa
from tests.integration.evidence.test_audit_evidence import (  # noqa: F401 - the fixture
    Setup,
    grow_and_sign,
    setup,
)

ROOT = Path(__file__).resolve().parents[3]


def readme_block(marker: str) -> str:
    text = (ROOT / "README.md").read_text()
    found = re.search(rf"<!-- {marker}:[^>]*-->\n```bash\n(.*?)```", text, re.DOTALL)
    assert found is not None, marker
    return found.group(1)


def as_options(listing: str, option: str) -> str:
    """What the README's `sed 's/^/--option=/'` makes of a route's key listing."""
    return "\n".join(f"{option}={line}" for line in listing.splitlines())


async def test_the_readme_receipt_loop_verifies_cosigned_timestamped_receipts(
    setup: Setup,  # noqa: F811 - the imported fixture
    tsa: LocalTsa,
    tmp_path: Path,
) -> None:
    size = await grow_and_sign(setup, 3)
    await setup.evidence.run()
    token = (await setup.client.get(f"/v1/checkpoints/{size}/timestamp")).content
    stamped = base64.b64encode(token).decode()
    records = [
        {
            "journal_index": index,
            "receipt": (await setup.client.get(f"/v1/receipts/{index}")).text,
            "receipt_reason": None,
            "checkpoint_timestamp": stamped,
        }
        for index in (0, 2)
    ]
    records.append(
        {
            "journal_index": None,
            "receipt": None,
            "receipt_reason": "not-yet-checkpointed",
            "checkpoint_timestamp": None,
        }
    )
    (tmp_path / "tsa-chain.pem").write_bytes(tsa.chain_pem)
    (tmp_path / ".venv").symlink_to(ROOT / ".venv")
    env = {
        **os.environ,
        "LOG_KEYS": as_options((await setup.client.get("/v1/verifier-keys")).text, "--public-key"),
        "WITNESS_KEYS": as_options((await setup.client.get("/v1/witnesses")).text, "--witness-key"),
    }
    assert env["WITNESS_KEYS"].count("--witness-key=") == 2
    loop = readme_block("verify-receipts")

    def run(evidence: dict[str, object]) -> subprocess.CompletedProcess[str]:
        (tmp_path / "evidence.json").write_text(json.dumps(evidence))
        return subprocess.run(
            ["bash", "-c", loop], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120
        )

    done = run({"evidence": records})
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.count("receipt valid: entry") == 2, done.stdout
    assert done.stdout.count("cosigned by witness") == 4, done.stdout
    assert done.stdout.count("checkpoint timestamped at") == 2, done.stdout
    assert "no timestamped receipt yet (not-yet-checkpointed)" in done.stdout

    # One byte of a witness's cosignature changed in the second receipt: named, status 1.
    lines = records[1]["receipt"].split("\n")  # type: ignore[union-attr]
    at = next(i for i, line in enumerate(lines) if line.startswith("— witness.test/w1 "))
    name, blob = lines[at].rsplit(" ", 1)
    raw = bytearray(base64.b64decode(blob))
    raw[-1] ^= 1
    lines[at] = f"{name} {base64.b64encode(bytes(raw)).decode()}"
    forged = [records[0], {**records[1], "receipt": "\n".join(lines)}]
    done = run({"evidence": forged})
    assert done.returncode == 1
    assert "receipt INVALID (cosignature)" in done.stdout, done.stdout
