"""Shared fixtures: the ``backend`` fixture runs a test on numpy, strict and (with a GPU) cupy.

Hypothesis profiles: ``HYPOTHESIS_PROFILE=fast`` (default, a few examples per test) or ``thorough``.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, settings

import tinyae

settings.register_profile(
    "fast",
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
settings.register_profile(
    "thorough",
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "fast"))

BACKEND_PARAMS = [
    pytest.param("numpy"),
    pytest.param("strict"),
    pytest.param("cupy", marks=pytest.mark.gpu),
]


@pytest.fixture(params=BACKEND_PARAMS)
def backend(request: pytest.FixtureRequest) -> Iterator[tinyae.Backend]:
    """Each backend in turn as the default for new tensors; cupy skips, with its reason, without a GPU."""
    reason = tinyae.available_backends()[request.param]
    if reason is not None:
        pytest.skip(reason)
    with tinyae.use_backend(request.param) as chosen:
        yield chosen
