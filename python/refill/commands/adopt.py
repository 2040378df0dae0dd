"""``refill init``: adopt refill in an existing dbt project, without disturbing the project's files.

It installs the package (``packages.yml``), writes the root-project shims that let models
written like the seed call the package's macros unprefixed, declares refill's vars in
``dbt_project.yml`` with comments, and prints the pre-commit hook and an embedded-engine
profile for rehearsing a recovery locally.

User files are edited as text, by appending, so their comments and formatting survive;
every edit is re-parsed and compared with the intended YAML before anything is written,
and nothing is written unless every edit is sound. A file refill owns (the shims) is
never overwritten without ``--force``; running init twice changes nothing.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from refill import CHECKOUT_ROOT, render
from refill.dbt.settings import DEFAULT_PRICES_MODEL, DEFAULT_TAG, scoped_vars
from refill.errors import BadInput

SHIMS_FILE = "refill_shims.sql"
SHIMMED = ("refill_safe_pre_hook", "refill_safe_post_hook", "apply_monthly_incremental_filter")
SHIMS_HEADER = """{#-
  Root-project shims: models written like the seed call the package's macros
  unprefixed. dbt resolves a package's macros only with the package prefix, so these
  forward to it. (`python -m refill init` writes this file into existing projects.)
-#}
"""
SHIM_MACROS = {
    "refill_safe_pre_hook":
        "{% macro refill_safe_pre_hook() %}{{ return(refill.refill_safe_pre_hook()) }}{% endmacro %}\n",
    "refill_safe_post_hook":
        "{% macro refill_safe_post_hook() %}{{ return(refill.refill_safe_post_hook()) }}{% endmacro %}\n",
    "apply_monthly_incremental_filter": (
        "{% macro apply_monthly_incremental_filter(source_field, destination_field=none, add_and=false, "
        "lookback_days=1) %}\n"
        "  {{- return(refill.apply_monthly_incremental_filter(source_field, destination_field, add_and, "
        "lookback_days)) -}}\n"
        "{% endmacro %}\n"
    ),
}
REPO_ROOT = CHECKOUT_ROOT


def shims_text(names: tuple[str, ...] = SHIMMED) -> str:
    return SHIMS_HEADER + "".join(SHIM_MACROS[name] for name in names)


@dataclass(frozen=True)
class Change:
    path: Path
    action: str  # create | update | overwrite | unchanged | kept
    note: str = ""
    text: str | None = None  # what to write (create/update/overwrite)

    @property
    def writes(self) -> bool:
        return self.action in ("create", "update", "overwrite")


@dataclass(frozen=True)
class InitOptions:
    project_dir: Path
    force: bool = False
    dry_run: bool = False
    prices_model: str | None = None  # None: the seed's name if the project has it, else the user's to fill
    tag: str = DEFAULT_TAG
    package: str | None = None  # a local path or a git URL; default: this checkout
    revision: str | None = None


# -- the package entry -----------------------------------------------------------------


def package_entry(options: InitOptions, project_dir: Path) -> dict[str, Any]:
    spec = options.package
    if spec is None:
        if not _is_refill_package(REPO_ROOT):
            raise BadInput("this refill was not installed from a source checkout, so there is no local dbt "
                           "package to point at: give --package <git URL> (and --revision <tag>)")
        spec = str(REPO_ROOT)
    if re.match(r"^(https?://|git@|ssh://|git\+)", spec):
        entry: dict[str, Any] = {"git": spec}
        if options.revision:
            entry["revision"] = options.revision
        return entry
    path = Path(spec).expanduser()
    absolute = path if path.is_absolute() else (Path.cwd() / path)
    if not _is_refill_package(absolute):
        raise BadInput(f"--package {spec}: no dbt package named refill there (dbt_project.yml with name: refill)")
    return {"local": os.path.relpath(absolute.resolve(), project_dir)}


def _is_refill_package(path: Path) -> bool:
    try:
        return (yaml.safe_load((path / "dbt_project.yml").read_text()) or {}).get("name") == "refill"
    except (OSError, yaml.YAMLError, AttributeError):
        return False


def _installs_refill(entry: Any, project_dir: Path) -> bool:
    if not isinstance(entry, dict):
        return False
    if "local" in entry:
        return _is_refill_package((project_dir / str(entry["local"])).resolve())
    if "git" in entry:
        return re.sub(r"(\.git)?/*$", "", str(entry["git"])).rsplit("/", 1)[-1] in ("refill", "dbt-refill")
    return str(entry.get("package", "")).rsplit("/", 1)[-1] == "refill"


def packages_change(options: InitOptions, project_dir: Path) -> Change:
    candidates = [project_dir / "packages.yml", project_dir / "dependencies.yml"]
    path = next((p for p in candidates if p.exists()), candidates[0])
    entry = package_entry(options, project_dir)
    if not path.exists():
        text = ("# dbt packages (`python -m refill dbt deps` installs them).\n"
                "packages:\n" + _yaml_item(entry, "  "))
        return Change(path, "create", f"installs refill ({_describe(entry)})", text)
    text = path.read_text()
    data = _load_yaml(path, text)
    packages = data.get("packages") or []
    if not isinstance(packages, list):
        raise BadInput(f"{path}: `packages` is not a list")
    if any(_installs_refill(p, project_dir) for p in packages):
        return Change(path, "unchanged", "refill is already a package")
    new_text = _append_to_block(text, "packages", lambda indent: _yaml_item(entry, indent), sequence=True,
                                path=path, force=options.force)
    expected = {**data, "packages": [*packages, entry]}
    _check_edit(path, new_text, expected)
    return Change(path, "update", f"adds refill ({_describe(entry)})", new_text)


def _describe(entry: dict[str, Any]) -> str:
    return ", ".join(f"{k}: {v}" for k, v in entry.items())


def _yaml_item(entry: dict[str, Any], indent: str) -> str:
    lines = yaml.safe_dump(entry, sort_keys=False, default_flow_style=False).splitlines()
    return "".join(f"{indent}{'- ' if i == 0 else '  '}{line}\n" for i, line in enumerate(lines))


# -- the shims -------------------------------------------------------------------------


def defined_macros(project_dir: Path, macro_paths: list[str], skip: Path) -> dict[str, str]:
    """{macro name: file} for the project's own macros (dbt's block tags understood)."""
    from jinja2 import TemplateSyntaxError, nodes

    from refill.lint.environment import make_environment

    env = make_environment()
    found: dict[str, str] = {}
    for folder in macro_paths:
        for path in sorted((project_dir / folder).rglob("*.sql")):
            if path.resolve() == skip.resolve():
                continue
            try:
                template = env.parse(path.read_text())
            except (TemplateSyntaxError, UnicodeDecodeError):
                continue  # dbt reports it; init has no opinion on a broken macro file
            for node in template.find_all(nodes.Macro):
                found.setdefault(node.name, str(path.relative_to(project_dir)))
    return found


def shims_change(options: InitOptions, project_dir: Path, project: dict[str, Any]) -> tuple[Change, list[str]]:
    macro_paths = [str(p) for p in (project.get("macro-paths") or ["macros"])]
    path = project_dir / macro_paths[0] / SHIMS_FILE
    own = defined_macros(project_dir, macro_paths, skip=path)
    warnings = [f"the project defines {name} itself ({own[name]}): no shim for it. Calling it by name "
                f"satisfies refill's contract (lint and preflight), so it must do what refill.{name} does"
                for name in SHIMMED if name in own]
    names = tuple(name for name in SHIMMED if name not in own)
    text = shims_text(names)
    if not names:
        return Change(path, "unchanged", "every shimmed macro is defined by the project"), warnings
    if not path.exists():
        return Change(path, "create", f"forwards {', '.join(names)} to the package", text), warnings
    if path.read_text() == text:
        return Change(path, "unchanged", "shims are current"), warnings
    if options.force:
        return Change(path, "overwrite", "replaced with the current shims (--force)", text), warnings
    return Change(path, "kept", "differs from the current shims; --force to overwrite"), warnings


# -- the vars --------------------------------------------------------------------------


@dataclass(frozen=True)
class ProjectFacts:
    """What init reads from the project's models (files mode, no dbt) to fill in its vars."""

    prices_model: str | None         # None: left for the user to fill in
    prices_candidates: tuple[str, ...]
    canary: dict[str, Any] | None    # an example entry naming real columns, or None


def project_facts(options: InitOptions, project_dir: Path, shims: str) -> ProjectFacts:
    from refill.lint import cohort_shapes
    from refill.lint.files import project_models
    from refill.lint.project import MacroSource

    models = project_models(project_dir).models
    names = {m.name for m in models}
    candidates = prices_candidates(models)
    if options.prices_model is not None:
        prices = options.prices_model
    else:
        prices = DEFAULT_PRICES_MODEL if DEFAULT_PRICES_MODEL in names else None
    extra = (MacroSource("<refill init shims>", shims),) if shims else ()
    return ProjectFacts(prices, candidates, canary_example(cohort_shapes(project_dir, tag=options.tag,
                                                                         extra_macros=extra)))


def prices_candidates(models) -> tuple[str, ...]:
    """Models named like prices, the most read first (ref() edges of the project's graph)."""
    priced = [m.name for m in models if "price" in m.name.lower()]
    reads = {name: 0 for name in priced}
    for model in models:
        for name in priced:
            if name != model.name and re.search(rf"ref\(\s*['\"]{re.escape(name)}['\"]", model.source):
                reads[name] += 1
    return tuple(sorted(priced, key=lambda name: (-reads[name], name)))


def canary_example(shapes) -> dict[str, Any] | None:
    """A canary on a cohort model's own columns: its `*_usd` column by its date, per key."""
    for shape in shapes:
        value = next((c for c in shape.columns if c.endswith("_usd")), None)
        if value and shape.date_column in shape.columns:
            group_by = [k for k in shape.keys if k != shape.date_column and k in shape.columns]
            return {"model": shape.model, "date_column": shape.date_column, "value_column": value,
                    "group_by": group_by, "threshold": 1.5}
    return None


def vars_block(options: InitOptions, indent: str, missing: set[str], facts: ProjectFacts | None = None,
               ask_prices: bool = False) -> str:
    facts = facts or ProjectFacts(options.prices_model, (), None)
    parts = []
    if "prices_model" in missing:
        parts.append(
            f"{indent}# refill: the model a price gap starts from. `refill run` re-pulls every model\n"
            f"{indent}# downstream of it (<prices_model>+) and `refill detect` scans it for missing days.\n"
            f"{indent}prices_model: {facts.prices_model}\n")
    elif ask_prices:
        listed = ", ".join(facts.prices_candidates) or "no model of the project is named like prices"
        parts.append(
            f"{indent}# refill: the model a price gap starts from; fill it in (candidates: {listed}):\n"
            f"{indent}# prices_model: <your prices model>\n")
    if "refill_tag" in missing:
        parts.append(
            f"{indent}# refill: models with this tag are rewritten month by month in a recovery; they must\n"
            f"{indent}# follow the refill contract (`python -m refill lint`).\n"
            f"{indent}refill_tag: {options.tag}\n")
    if "refill_canaries" in missing:
        example = facts.canary
        if example is not None:
            lines = [f"#   - model: {example['model']}", f"#     date_column: {example['date_column']}",
                     f"#     value_column: {example['value_column']}",
                     f"#     group_by: [{', '.join(example['group_by'])}]", f"#     threshold: {example['threshold']}"]
            intro = "For example, on one of your cohort models:"
        else:
            lines = ["#   - model: <a cohort model>", "#     date_column: <its date column>",
                     "#     value_column: <a *_usd column>", "#     group_by: [<its key columns>]",
                     "#     threshold: 1.5"]
            intro = "No cohort model with a *_usd column was found to take an example from:"
        parts.append(
            f"{indent}# refill: adjacent-day ratio scans run after the cohort rewrite and again at the end;\n"
            f"{indent}# a day-to-day jump beyond the threshold stops the recovery (exit 3). {intro}\n"
            + "".join(f"{indent}{line}\n" for line in lines)
            + f"{indent}refill_canaries: []\n")
    return "".join(parts)


def project_change(options: InitOptions, project_dir: Path, text: str, project: dict[str, Any],
                   facts: ProjectFacts | None = None) -> Change:
    path = project_dir / "dbt_project.yml"
    facts = facts or ProjectFacts(options.prices_model or DEFAULT_PRICES_MODEL, (), None)
    declared = project.get("vars") or {}
    if not isinstance(declared, dict):
        raise BadInput(f"{path}: `vars` is not a mapping")
    scoped = declared.get(project.get("name"))
    present = set(declared) | (set(scoped) if isinstance(scoped, dict) else set())
    wanted: dict[str, Any] = {"refill_tag": options.tag, "refill_canaries": []}
    if facts.prices_model is not None:
        wanted["prices_model"] = facts.prices_model
    missing = {key for key in wanted if key not in present}
    # A prices model init could not name is left to the user, as a comment written once.
    ask_prices = facts.prices_model is None and "prices_model" not in present and "# prices_model:" not in text
    if not missing and not ask_prices:
        return Change(path, "unchanged", "refill's vars are declared")
    if "vars" in project:
        new_text = _append_to_block(text, "vars", lambda indent: vars_block(options, indent, missing, facts, ask_prices),
                                    sequence=False, path=path, force=False)
    else:
        new_text = (text if text.endswith("\n") or not text else text + "\n") + (
            "\n# refill's settings (added by `python -m refill init`); flags of `python -m refill run` override them.\n"
            "vars:\n" + vars_block(options, "  ", missing, facts, ask_prices))
    expected = {**project, "vars": {**declared, **{k: v for k, v in wanted.items() if k in missing}}}
    _check_edit(path, new_text, expected)
    note = f"declares {', '.join(sorted(missing))}" if missing else "asks for prices_model"
    return Change(path, "update", note, new_text)


# -- text edits ------------------------------------------------------------------------


def _append_to_block(text: str, key: str, render, *, sequence: bool, path: Path, force: bool) -> str:
    """``text`` with ``render(indent)`` appended at the end of the top-level block ``key:``.

    Comments and formatting elsewhere stay as they are. A flow-style value (``key: [...]``)
    cannot be extended as text: refused, with what to add by hand.
    """
    lines = text.splitlines(keepends=True)
    start = next((i for i, line in enumerate(lines) if re.match(rf"^{re.escape(key)}\s*:", line)), None)
    if start is None:
        return text + ("" if text.endswith("\n") or not text else "\n") + f"{key}:\n" + render("  ")
    inline = lines[start].split(":", 1)[1].split("#", 1)[0].strip()
    if inline:
        raise BadInput(f"{path}: `{key}:` is written inline ({inline[:40]}); add by hand under it:\n"
                       + render("  ").rstrip("\n"))
    end, indent = start, None
    for i in range(start + 1, len(lines)):
        stripped = lines[i].strip()
        if not stripped or stripped.startswith("#"):
            continue
        if not lines[i][0].isspace() and not (sequence and stripped.startswith("- ")):
            break
        if indent is None:
            indent = lines[i][: len(lines[i]) - len(lines[i].lstrip())]
        end = i
    indent = indent if indent is not None else "  "
    if not lines[end].endswith("\n"):
        lines[end] += "\n"
    return "".join(lines[: end + 1]) + render(indent) + "".join(lines[end + 1:])


def _load_yaml(path: Path, text: str) -> dict[str, Any]:
    try:
        data = yaml.safe_load(text) or {}
    except yaml.YAMLError as exc:
        raise BadInput(f"cannot read {path}: {' '.join(str(exc).split())}") from None
    if not isinstance(data, dict):
        raise BadInput(f"{path} is not a YAML mapping")
    return data


def _check_edit(path: Path, new_text: str, expected: dict[str, Any]) -> None:
    """The edited text must parse to exactly the intended data, or nothing is written."""
    try:
        got = yaml.safe_load(new_text)
    except yaml.YAMLError:
        got = None
    if got != expected:
        raise BadInput(f"could not extend {path} safely as text (its layout is unusual); nothing was written. "
                       "Add refill's entries by hand (see README: Adopting refill)")


# -- the command -----------------------------------------------------------------------


def propose_init(options: InitOptions) -> tuple[list[Change], list[str], dict[str, Any]]:
    project_dir = Path(options.project_dir).resolve()
    project_file = project_dir / "dbt_project.yml"
    if not project_file.is_file():
        raise BadInput(f"no dbt_project.yml in {project_dir} (use --project-dir)")
    if not re.match(r"^[A-Za-z_][A-Za-z0-9_]*$", options.tag):
        raise BadInput(f"--tag must be a dbt tag name (letters, digits, underscores), got {options.tag!r}")
    if options.prices_model is not None and not re.match(r"^[A-Za-z_][A-Za-z0-9_]*$", options.prices_model):
        raise BadInput(f"--prices-model must be a dbt model name, got {options.prices_model!r}")
    text = project_file.read_text()
    project = _load_yaml(project_file, text)
    if project.get("name") == "refill":
        raise BadInput(f"{project_dir} is the refill package itself; run init in the project that uses it")
    shims, warnings = shims_change(options, project_dir, project)
    facts = project_facts(options, project_dir, shims.text or "")
    if facts.prices_model is None and "prices_model" not in scoped_vars(project):
        listed = ", ".join(facts.prices_candidates)
        warnings.append(
            f"prices_model is left for you to fill in: the project has no model {DEFAULT_PRICES_MODEL}"
            + (f"; candidates from its graph (most read first): {listed}" if listed
               else " and none is named like prices")
            + ". Set vars: {prices_model: <model>} in dbt_project.yml, or pass --prices-model")
    changes = [packages_change(options, project_dir), shims,
               project_change(options, project_dir, text, project, facts)]
    return changes, warnings, project


@dataclass(frozen=True)
class InitResult:
    """What ``refill init`` did or would do (``refill.render.init_text`` prints it)."""

    project_dir: Path
    changes: list[Change]
    warnings: list[str]
    project: dict[str, Any]  # dbt_project.yml as read
    dry_run: bool


def run_init(options: InitOptions) -> int:
    changes, warnings, project = propose_init(options)
    if not options.dry_run:
        for change in changes:
            if change.writes:
                change.path.parent.mkdir(parents=True, exist_ok=True)
                change.path.write_text(change.text or "")
    render.emit(render.init_text(InitResult(Path(options.project_dir).resolve(), changes, warnings, project,
                                            options.dry_run)))
    return 0
