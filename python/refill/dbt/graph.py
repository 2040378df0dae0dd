"""The project's dependency graph, as refill needs it: the cohort, its layers, the phases' sets.

Built once from dbt's manifest (``ProjectGraph.from_manifest``) or directly from nodes in
tests. Everything here is pure: no dbt invocation, no warehouse.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable, Mapping

from refill.engine.sql import table

MATERIALIZED = {"table", "incremental", "materialized_view", "distributed_table", "distributed_incremental"}
UNMATERIALIZED = {"view", "ephemeral"}  # read live: nothing to re-pull


@dataclass(frozen=True, order=True)
class Relation:
    """Where dbt put a model: a ClickHouse database and a table name.

    dbt-clickhouse has no level above the schema: a node's ``schema`` (after
    ``generate_schema_name``: ``<target schema>_<custom>`` for ``schema='custom'``) is the
    ClickHouse database, its ``alias`` the table, and ``database=`` is ignored.
    """

    database: str
    identifier: str

    @property
    def sql(self) -> str:
        """The relation as ClickHouse SQL: database and table, each back-quoted."""
        return table(self.database, self.identifier)

    def __str__(self) -> str:
        return f"{self.database}.{self.identifier}"

    def as_list(self) -> list[str]:
        return [self.database, self.identifier]

    @classmethod
    def from_list(cls, value) -> "Relation":
        database, identifier = value
        return cls(str(database), str(identifier))


def by_database(relations: Iterable[Relation]) -> dict[str, list[str]]:
    """``{database: [identifier, …]}``, both sorted: the shape of the package's macros that
    take one ``database`` and its ``tables``."""
    grouped: dict[str, set[str]] = {}
    for relation in relations:
        grouped.setdefault(relation.database, set()).add(relation.identifier)
    return {database: sorted(grouped[database]) for database in sorted(grouped)}


@dataclass(frozen=True)
class Node:
    unique_id: str
    name: str
    resource_type: str = "model"
    materialized: str = "view"
    tags: frozenset[str] = frozenset()
    schema: str = ""
    identifier: str = ""
    parents: tuple[str, ...] = ()
    original_file_path: str = ""
    strategy: str | None = None  # incremental_strategy
    partition_by: object = None  # dbt-clickhouse's partition_by: an expression or a list of them

    @property
    def relation(self) -> Relation:
        return Relation(self.schema, self.identifier or self.name)

    @property
    def is_incremental(self) -> bool:
        return self.materialized in ("incremental", "distributed_incremental")


def _frozen(value):
    return tuple(value) if isinstance(value, list) else value


@dataclass(frozen=True)
class Layering:
    """Cohort models grouped so that every model's cohort ancestors are in earlier layers."""

    layers: tuple[tuple[str, ...], ...]


@dataclass(frozen=True)
class StaleIntermediate:
    """A materialized non-cohort model that sits between two cohort models."""

    node: str
    upstream: str
    downstream: str


@dataclass
class ProjectGraph:
    nodes: Mapping[str, Node]
    _children: dict[str, set[str]] = field(default_factory=dict, init=False, repr=False)

    def __post_init__(self) -> None:
        for node in self.nodes.values():
            for parent in node.parents:
                self._children.setdefault(parent, set()).add(node.unique_id)

    @classmethod
    def from_manifest(cls, manifest) -> "ProjectGraph":
        nodes = {}
        for uid, node in manifest.nodes.items():
            if node.resource_type not in ("model", "seed", "snapshot"):
                continue
            nodes[uid] = Node(
                unique_id=uid,
                name=node.name,
                resource_type=str(node.resource_type),
                materialized=str(node.config.materialized),
                tags=frozenset(node.tags or ()),
                schema=node.schema,
                identifier=getattr(node, "alias", None) or node.name,
                parents=tuple(p for p in getattr(node.depends_on, "nodes", ()) if p in manifest.nodes),
                original_file_path=node.original_file_path,
                strategy=node.config.get("incremental_strategy"),
                partition_by=_frozen(node.config.get("partition_by")),
            )
        return cls(nodes)

    # -- lookups -----------------------------------------------------------------------

    def by_name(self, name: str) -> Node | None:
        matches = [n for n in self.nodes.values() if n.name == name and n.resource_type == "model"]
        return matches[0] if len(matches) == 1 else None

    def names(self, uids: Iterable[str]) -> list[str]:
        return [self.nodes[uid].name for uid in uids]

    def relations(self, uids: Iterable[str]) -> dict[str, Relation]:
        """``{model name: its relation}`` of the nodes ``uids``."""
        return {self.nodes[uid].name: self.nodes[uid].relation for uid in uids}

    def databases(self) -> list[str]:
        """Every database the project's models, seeds and snapshots are written to, sorted."""
        return sorted({n.schema for n in self.nodes.values() if n.schema and n.materialized != "ephemeral"})

    def tagged(self, tag: str) -> set[str]:
        return {uid for uid, n in self.nodes.items() if n.resource_type == "model" and tag in n.tags}

    def descendants(self, roots: Iterable[str]) -> set[str]:
        seen: set[str] = set()
        stack = list(roots)
        while stack:
            for child in self._children.get(stack.pop(), ()):
                if child not in seen:
                    seen.add(child)
                    stack.append(child)
        return seen

    def ancestors(self, uid: str) -> set[str]:
        seen: set[str] = set()
        stack = list(self.nodes[uid].parents)
        while stack:
            parent = stack.pop()
            if parent not in seen and parent in self.nodes:
                seen.add(parent)
                stack.extend(self.nodes[parent].parents)
        return seen

    # -- the cohort --------------------------------------------------------------------

    def cohort_layers(self, cohort: Iterable[str]) -> Layering:
        """Layer = 1 + the deepest cohort ancestor's layer, over paths through any nodes."""
        members = set(cohort)
        depth: dict[str, int] = {}

        def layer_of(uid: str) -> int:
            if uid not in depth:
                upstream = self.ancestors(uid) & members
                depth[uid] = 1 + max((layer_of(u) for u in upstream), default=-1)
            return depth[uid]

        for uid in members:
            layer_of(uid)
        layers = [sorted((u for u in members if depth[u] == d), key=lambda u: self.nodes[u].name)
                  for d in range(max(depth.values(), default=-1) + 1)]
        return Layering(tuple(tuple(layer) for layer in layers))

    def stale_intermediates(self, cohort: Iterable[str]) -> list[StaleIntermediate]:
        """Materialized non-cohort models between cohort models.

        Phase 1 rewrites the cohort alone; a view in between is read live, but a table in
        between would still hold pre-refill rows when the downstream cohort model reads it.
        """
        members = set(cohort)
        found = []
        for downstream in sorted(members):
            for node_id in sorted(self.ancestors(downstream) - members):
                node = self.nodes[node_id]
                if node.materialized not in MATERIALIZED:
                    continue
                upstream = sorted(self.ancestors(node_id) & members)
                if upstream:
                    found.append(StaleIntermediate(node_id, upstream[0], downstream))
        return found

    def cohort_inputs(self, prices: str, cohort: Iterable[str]) -> set[str]:
        """Materialized models Phase 1 reads that derive from ``prices`` (the prices model
        itself included when materialized) and read no cohort model.

        After the feed is backfilled they still hold the gap until dbt re-runs them, so
        they are re-pulled before Phase 1 (and the prices model before its coverage check);
        one that reads a cohort model is a stale intermediate instead (see above). A
        materialized view is not one: ``dbt run`` of an existing one does not refill it.
        """
        members = set(cohort)
        priced = self.descendants({prices}) | {prices}
        read_by_cohort = {prices}.union(*(self.ancestors(uid) for uid in members))
        return {
            uid for uid in (priced & read_by_cohort) - members
            if self.nodes[uid].resource_type == "model"
            and self.nodes[uid].materialized not in UNMATERIALIZED | {"materialized_view"}
            and not (self.ancestors(uid) & members)
        }

    # -- ordering ----------------------------------------------------------------------

    def topological(self, uids: Iterable[str]) -> list[str]:
        """``uids`` in dependency order (ties by name), honouring paths through other nodes."""
        members = set(uids)
        upstream = {uid: self.ancestors(uid) & members for uid in members}
        ordered: list[str] = []
        placed: set[str] = set()
        while len(ordered) < len(members):
            ready = sorted((u for u in members - placed if upstream[u] <= placed), key=lambda u: self.nodes[u].name)
            if not ready:
                raise ValueError("dependency cycle among " + ", ".join(sorted(members - placed)))
            ordered.extend(ready)
            placed.update(ready)
        return ordered
