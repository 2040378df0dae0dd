"""refill_safe_pre_hook / refill_safe_post_hook on the engine: the caps apply to the
model's own statements, GROUP BY really spills, and nothing is left behind on the
connection, not even when the model fails (issue #3, item 1)."""

from __future__ import annotations

import pytest

from macro_project import MacroProject, node_results

pytestmark = pytest.mark.engine

MiB = 1024 * 1024
# What the user's profile sets (custom_settings): a server-like memory limit the heavy
# GROUP BY cannot fit in, and non-default values that must survive every model.
PROFILE = {
    "max_memory_usage": 80 * MiB,
    "max_bytes_before_external_sort": 123_456_789,
    "join_algorithm": "hash",
}
# The hooks' own values, through the package vars, small so the test is quick.
CAP = 64 * MiB
SPILL = 8 * MiB
HOOK_VALUES = {
    "max_memory_usage": CAP,
    "group_by_spill": SPILL,
    "sort_spill": SPILL,
    "join_algorithm": "grace_hash",
}
PROFILE_VALUES = {
    "max_memory_usage": PROFILE["max_memory_usage"],
    "group_by_spill": 0,
    "sort_spill": PROFILE["max_bytes_before_external_sort"],
    "join_algorithm": "hash",
}

SETTINGS_SEEN = """
    getSetting('max_memory_usage') AS max_memory_usage,
    getSetting('max_bytes_before_external_group_by') AS group_by_spill,
    getSetting('max_bytes_before_external_sort') AS sort_spill,
    toString(getSetting('join_algorithm')) AS join_algorithm"""

REFILL_HOOKS = "pre_hook=refill.refill_safe_pre_hook(), post_hook=refill.refill_safe_post_hook()"
# The seed's original hooks: SET on the session, then SET … = DEFAULT.
NAIVE_HOOKS = "pre_hook=naive_pre_hook(), post_hook=naive_post_hook()"
NAIVE_MACROS = f"""
{{% macro naive_pre_hook() %}}
  SET max_memory_usage = {CAP}, max_bytes_before_external_group_by = {SPILL},
      max_bytes_before_external_sort = {SPILL}, join_algorithm = 'grace_hash'
{{% endmacro %}}
{{% macro naive_post_hook() %}}
  SET max_memory_usage = DEFAULT, max_bytes_before_external_group_by = DEFAULT,
      max_bytes_before_external_sort = DEFAULT, join_algorithm = DEFAULT
{{% endmacro %}}
"""

# Enough distinct (k, s) groups that the aggregation state overflows both caps.
HEAVY = """
SELECT count() AS groups, sum(c) AS rows, {settings}
FROM (
    SELECT number % 1500000 AS k, toString(number) AS s, count() AS c
    FROM numbers(3000000)
    GROUP BY k, s
)
"""


def _probe(tag: str, hooks: str = "", after: str | None = None, fails: bool = False) -> str:
    config = f"materialized='table', engine='MergeTree()', order_by='tuple()', tags=['{tag}']"
    if hooks:
        config += ", " + hooks
    depends = f"-- depends_on: {{{{ ref('{after}') }}}}\n" if after else ""
    failure = ",\n    throwIf(1 = 1, 'the model fails on purpose') AS boom" if fails else ""
    return f"{{{{ config({config}) }}}}\n{depends}SELECT {SETTINGS_SEEN}{failure}\n"


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    project = MacroProject(
        tmp_path_factory.mktemp("hooks"),
        custom_settings=PROFILE,
        vars={"refill_max_memory_usage": CAP, "refill_max_bytes_before_external": SPILL},
        # hooks for a whole folder, the dbt_project.yml way (rendered only at run time)
        project_config={"models": {"refill_macro_tests": {"folder": {
            "+pre-hook": "{{ refill.refill_safe_pre_hook() }}",
            "+post-hook": "{{ refill.refill_safe_post_hook() }}",
        }}}},
    )
    project.write("macros/naive_hooks.sql", NAIVE_MACROS)
    # refill hooks: a chain hooked -> probe -> hooked -> probe, and a hooked model that
    # fails followed by a probe (named so dbt schedules it after the failure).
    project.model("r1_hooked", _probe("refill", REFILL_HOOKS))
    project.model("r2_probe", _probe("refill", after="r1_hooked"))
    project.model("r3_hooked", _probe("refill", REFILL_HOOKS, after="r2_probe"))
    project.model("r4_probe", _probe("refill", after="r3_hooked"))
    project.model("folder/r7_folder_hooked", _probe("refill", after="r4_probe"))
    project.model("r8_probe", _probe("refill", after="r7_folder_hooked"))
    project.model("r5_fails", _probe("refill_failure", REFILL_HOOKS, fails=True))
    project.model("r6_probe", _probe("refill_failure"))
    project.model("n1_hooked", _probe("naive", NAIVE_HOOKS))
    project.model("n2_probe", _probe("naive", after="n1_hooked"))
    project.model("n5_fails", _probe("naive_failure", NAIVE_HOOKS, fails=True))
    project.model("n6_probe", _probe("naive_failure"))
    config = "materialized='table', engine='MergeTree()', order_by='tuple()', tags=['heavy']"
    project.model("heavy_plain", f"{{{{ config({config}) }}}}\n" + HEAVY.format(settings=SETTINGS_SEEN))
    project.model("heavy_hooked", f"{{{{ config({config}, {REFILL_HOOKS}) }}}}\n" + HEAVY.format(settings=SETTINGS_SEEN))
    project.parse()
    yield project
    project.close()


def _seen(project: MacroProject, model: str) -> dict:
    (row,) = project.warehouse.rows(
        f"SELECT max_memory_usage, group_by_spill, sort_spill, join_algorithm FROM macro_tests.{model}"
    )
    return dict(zip(("max_memory_usage", "group_by_spill", "sort_spill", "join_algorithm"), row))


def _spilled_parts(project: MacroProject) -> int:
    return project.warehouse.scalar(
        "SELECT toInt64(sum(value)) FROM system.events WHERE event = 'ExternalAggregationWritePart'"
    ) or 0


def test_group_by_over_the_cap_fails_without_the_hooks_and_spills_with_them(project):
    spilled_before = _spilled_parts(project)
    run = project.dbt("run", "--select", "tag:heavy", check=False, reuse=True)
    results = node_results(run)
    assert str(results["heavy_plain"].status) == "error"
    assert "MEMORY_LIMIT_EXCEEDED" in results["heavy_plain"].message
    assert str(results["heavy_hooked"].status) == "success", results["heavy_hooked"].message
    row = project.warehouse.rows("SELECT groups, rows FROM macro_tests.heavy_hooked")
    assert row == [(3_000_000, 3_000_000)]
    assert _seen(project, "heavy_hooked") == HOOK_VALUES  # the caps were on the model's own INSERT
    assert _spilled_parts(project) > spilled_before  # and the GROUP BY went to disk


@pytest.mark.parametrize("threads", [1, 2])
def test_hooks_leave_the_connection_as_the_profile_set_it(project, threads):
    project.threads = threads
    run = project.dbt("run", "--select", "tag:refill", reuse=True)
    assert len(node_results(run)) == 6
    for hooked in ("r1_hooked", "r3_hooked", "r7_folder_hooked"):
        assert _seen(project, hooked) == HOOK_VALUES
    for probe in ("r2_probe", "r4_probe", "r8_probe"):
        assert _seen(project, probe) == PROFILE_VALUES
    project.threads = 1


def test_naive_set_hooks_replace_the_profile_value_with_the_default(project):
    project.dbt("run", "--select", "tag:naive", reuse=True)
    assert _seen(project, "n1_hooked") == HOOK_VALUES
    seen = _seen(project, "n2_probe")
    assert seen["max_memory_usage"] == 0  # the profile's 80 MiB is gone
    assert seen["join_algorithm"] != "hash"


def _ran_after(results: dict, first: str, second: str) -> bool:
    def moment(result, name):
        return {t.name: t for t in result.timing}[name]

    started = moment(results[second], "execute").started_at
    return started >= results[first].timing[-1].completed_at


def test_a_failing_model_leaves_nothing_behind_where_a_session_set_would(project):
    naive = node_results(project.dbt("run", "--select", "tag:naive_failure", check=False, reuse=True))
    assert str(naive["n5_fails"].status) == "error"
    assert _ran_after(naive, "n5_fails", "n6_probe")  # same thread, same connection, afterwards
    assert _seen(project, "n6_probe")["max_memory_usage"] == CAP  # dbt skipped the post-hook: leaked

    ours = node_results(project.dbt("run", "--select", "tag:refill_failure", check=False, reuse=True))
    assert str(ours["r5_fails"].status) == "error"
    assert _ran_after(ours, "r5_fails", "r6_probe")
    assert _seen(project, "r6_probe") == PROFILE_VALUES


def test_hooks_render_as_their_own_call_in_the_manifest(project):
    """Lint and users see the hook by name; its SQL is decided when the model runs."""
    node = next(n for n in project.manifest.nodes.values() if n.name == "r1_hooked")
    assert [h.sql for h in node.config.pre_hook] == ["{{ refill.refill_safe_pre_hook() }}"]
    assert [h.sql for h in node.config.post_hook] == ["{{ refill.refill_safe_post_hook() }}"]
