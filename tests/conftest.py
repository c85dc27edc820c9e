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


# Branch `published` only (issue 13): these bundled specs are written in the spec options that
# branch `speclang` adds (bias = false, reduction_*, names, tie, frozen). Until it is merged they do
# not load here, so every test whose id names one is expected to fail. The merger deletes this hook
# and NEEDS_SPECLANG once speclang is in.
NEEDS_SPECLANG = ("mazur_2_2_2", "schiendorfer_2_2_2")
NO_CHAINRULE = ("test_the_reference_reproduces_what_the_source_has_right",  # the mpmath reference alone
                "test_every_published_answer_is_in_the_table")


def pytest_collection_modifyitems(items):
    import pytest

    for item in items:
        if any(name in item.nodeid for name in NEEDS_SPECLANG) and item.originalname not in NO_CHAINRULE:
            item.add_marker(pytest.mark.xfail(strict=False, reason="needs issue-13 spec options (branch speclang)"))
