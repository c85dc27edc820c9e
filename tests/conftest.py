"""Test settings shared by every test module.

Hypothesis runs without deadlines everywhere: CI shares two cores with other work, and a
deadline turns a slow machine into a failing test. Under CI (`CI` set, as `.ci/run` is run)
examples are also derandomised, so a run is repeatable; a failure still prints the
`@reproduce_failure` blob that replays it.
"""

import os

import pytest
from hypothesis import HealthCheck, settings

settings.register_profile("dev", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("ci", deadline=None, derandomize=True, print_blob=True, database=None,
                          suppress_health_check=[HealthCheck.too_slow])
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci" if os.environ.get("CI") else "dev"))


# -- scheduling on xdist workers (`make test` runs `pytest -n 2 --dist loadgroup`) -----------------------
#
# Work a module shares between its tests (a module-scoped fixture: a compiled set of sheets, a
# served app, a browser, a batch folder; or a per-name cache of solved specs and answer keys) is
# done once only if those tests run on one worker: they get one xdist group. Every other test is
# scheduled on its own. Modules run heaviest first, so the last unit of work is a short one and
# the two workers finish together. The order is a scheduling hint only: no test depends on it.

CACHED_BY_NAME = {"test_published_examples", "test_report"}  # `@cache def solved(name)`, `graded(name)`
HEAVIEST_FIRST = ["test_sheet_layout", "test_moodle", "test_browser", "test_published_examples", "test_variants",
                  "test_serve_api", "test_hostile", "test_cli", "test_hostile_outputs", "test_spec_options",
                  "test_commands", "test_report", "test_hostile_verdicts", "test_workers", "test_rendering",
                  "test_gradescope", "test_activations_losses", "test_sheet_matrix"]


def _shared_group(item) -> str | None:
    module = item.path.stem
    for definitions in item._fixtureinfo.name2fixturedefs.values():
        definition = definitions[-1]
        if definition.scope != "function" and getattr(definition.func, "__module__", "").startswith("tests."):
            return module
    params = getattr(getattr(item, "callspec", None), "params", {})
    if module in CACHED_BY_NAME and "name" in params:
        return f"{module}:{params['name']}"
    return None


@pytest.hookimpl(tryfirst=True)  # before xdist reads the marks
def pytest_collection_modifyitems(config, items):
    for item in items:
        group = _shared_group(item)
        if group is not None:
            item.add_marker(pytest.mark.xdist_group(group))
    rank = {name: i for i, name in enumerate(HEAVIEST_FIRST)}
    items.sort(key=lambda item: rank.get(item.path.stem, len(rank)))  # stable: a module's own order is kept
