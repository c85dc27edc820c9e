"""Test settings shared by every test module.

Hypothesis runs without deadlines everywhere: CI shares two cores with other work, and a
deadline turns a slow machine into a failing test. Under CI (`CI` set, as `.ci/run` is run)
examples are also derandomised, so a run is repeatable; a failure still prints the
`@reproduce_failure` blob that replays it.
"""

import os

from hypothesis import HealthCheck, settings

settings.register_profile("dev", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("ci", deadline=None, derandomize=True, print_blob=True, database=None,
                          suppress_health_check=[HealthCheck.too_slow])
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci" if os.environ.get("CI") else "dev"))
