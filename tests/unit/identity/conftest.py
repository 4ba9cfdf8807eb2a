from __future__ import annotations

from pathlib import Path

import pytest

from tests.unit.identity.support import Rig, make_rig


@pytest.fixture
async def rig(tmp_path: Path) -> Rig:
    return await make_rig(tmp_path)
