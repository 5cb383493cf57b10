"""Hypothesis profiles: a bounded number of examples in ``make test``, many more with ``-m slow_properties``.

Every test module of this folder is marked ``slow_properties`` (``pytestmark``). Run without ``-m``
(``make test``), each property tries :data:`BOUNDED` examples with a fixed
seed, so the suite stays quick and repeatable; selected with ``-m
slow_properties``, each tries :data:`THOROUGH` random examples.
"""

from __future__ import annotations

from hypothesis import HealthCheck, settings

BOUNDED = 60
THOROUGH = 2000

settings.register_profile(
    "bounded", max_examples=BOUNDED, derandomize=True, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.register_profile(
    "thorough", max_examples=THOROUGH, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)


def pytest_configure(config) -> None:
    selected = "slow_properties" in (config.getoption("markexpr", "") or "")
    settings.load_profile("thorough" if selected else "bounded")
