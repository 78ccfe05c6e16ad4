"""Fixtures of the batch tests: a six-school slice of the demo region with the probe template."""
from __future__ import annotations

import pytest

from tests.batch.probe import make_region


@pytest.fixture
def region(tmp_path, demo_small):
    """A copy of the small demo (so tests may change it), its probe template and a params writer."""
    return make_region(tmp_path, demo_small)
