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


# -- scheduling on xdist workers (`make test` runs `pytest -n 3` on two cores) ----------------------
#
# Work a module shares between its tests (a module-scoped fixture: 21 compiled sheets, a served
# app, a browser, a batch folder; or a cache of solved specs and answer keys) is done once only if
# those tests run on one worker, so such a module is one unit of work. Every other test is a unit
# on its own, and so are the expensive independent tests named in SPREAD. Modules run heaviest
# first, so the last unit of work is a short one and the workers finish together. All of this
# is a scheduling hint only: no test depends on it.
# test_cli is left spread on purpose: its one module fixture (a `solve --json` run) is cheaper built
# on every worker than its 50 subprocess tests kept on one.
# (Not xdist_group marks with --dist loadgroup: xdist 3.8 tags a group by rewriting `item._nodeid`,
# which pytest 9 no longer reads, so the marks are silently ignored.)

SHARED = {"test_browser", "test_checking", "test_derivation", "test_differences", "test_gradescope", "test_grading",
          "test_hostile", "test_hostile_outputs", "test_hostile_verdicts", "test_learning_rate", "test_mistakes",
          "test_model", "test_moodle", "test_notation", "test_numerics", "test_prairielearn", "test_precise",
          "test_published_examples", "test_rendering", "test_report", "test_serve_api", "test_sheet_layout",
          "test_variants"}
SPREAD = {"test_over_every_bundled_spec_answers_fit_their_bands_and_mistakes_stay_apart",  # a batch per spec
          "test_handout_asks_the_questions_and_gives_no_answers", "test_every_homework_variant_meets_the_default_constraints"}
HEAVIEST_FIRST = ["test_sheet_layout", "test_published_examples", "test_moodle", "test_browser", "test_variants",
                  "test_hostile", "test_cli", "test_serve_api", "test_hostile_outputs", "test_commands",
                  "test_spec_options", "test_workers", "test_gradescope", "test_properties", "test_hostile_verdicts",
                  "test_rendering", "test_notation", "test_numerics", "test_gradebook"]


def unit_of_work(nodeid: str) -> str:
    """The module for a module that shares work (except SPREAD tests), else the test itself."""
    path, _, rest = nodeid.partition("::")
    function = rest.split("[", 1)[0]
    if path.rsplit("/", 1)[-1].removesuffix(".py") in SHARED and function not in SPREAD:
        return path
    return nodeid


def pytest_xdist_make_scheduler(config, log):
    from xdist.scheduler import LoadScopeScheduling

    class SharedWorkScheduling(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return unit_of_work(nodeid)

    return SharedWorkScheduling(config, log)


def pytest_collection_modifyitems(config, items):
    rank = {name: i for i, name in enumerate(HEAVIEST_FIRST)}
    items.sort(key=lambda item: rank.get(item.path.stem, len(rank)))  # stable: a module's own order is kept
