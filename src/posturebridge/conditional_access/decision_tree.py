"""Memoised condition chains: the part of a decision that repeats between sign-ins, worked out once.

A policy's result is decided by its condition chain (users, application, clientType, ...; the first
unsatisfied condition ends it) and, when every condition holds, by its grant controls. Each
condition reads only a few facts of the sign-in: the application stage the resource, user action
and authentication context, the platform stage the platform string, and so on (``stage_keys`` in
``evaluate.py`` names them). The tree branches on those facts, one condition at a time, for the
conditions whose facts take few values in practice (resource, client app, platform, location), so
two sign-ins that agree on them share every policy's outcome up to there. A node holds every
result settled on the way to it, as a full-length tuple a decision copies in one go, and for each
policy still going on (a survivor) its ``Chain`` past the outcomes so far. The tree grows through
those chains (``CompiledPolicy.step``), and the caller finishes the survivors along them
(``CompiledPolicy.resume``): the remaining conditions there read facts of many values (device, risk
levels, flows) that would make the tree explode if it branched on them.

Users are the exception: the ids a user carries are nearly unique per sign-in, so the tree is
built for a user whom no policy names (the root is chosen by the guest profile alone) and the
caller re-evaluates the few policies that name one of the user's ids.

The tree must never change a result: each branch key covers everything its condition's checks read
(``tests/unit/conditional_access/test_fast_path.py`` compares it with the straightforward path). It
is bounded: past ``max_entries`` stored slots it is dropped and grows again from the root.
It must never do I/O or read the clock; ``now`` reaches it only inside the facts.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from typing import TYPE_CHECKING

from posturebridge.conditional_access.result import PolicyResult

if TYPE_CHECKING:
    from posturebridge.conditional_access.evaluate import Chain, CompiledPolicy, Facts, StageKey

# (policy index, policy, its chain past the outcomes so far)
Survivor = tuple[int, "CompiledPolicy", "Chain"]


class Node:
    """The results settled on the way here, and the policies still going on."""

    __slots__ = ("base", "children", "indexes", "key", "kind", "survivors")

    def __init__(
        self,
        base: tuple[PolicyResult | None, ...],
        survivors: tuple[Survivor, ...],
        order: Mapping[str, int],
        keys: Mapping[str, StageKey],
    ) -> None:
        # Every policy's result as far as this branch settles it; None where a survivor goes on.
        self.base = base
        self.survivors = survivors
        self.indexes = tuple(survivor[0] for survivor in survivors)
        self.children: dict[Hashable, Node] = {}
        pending = [chain.kind for _, _, chain in survivors if not chain.complete]
        self.kind: str | None = min(pending, key=order.__getitem__) if pending else None
        # None at a leaf, and where the next condition is not one the tree branches on.
        self.key: StageKey | None = keys.get(self.kind) if self.kind is not None else None


class DecisionTree:
    """Per-policy outcomes for a user no policy names, memoised along the condition chain.

    It branches only on ``keys`` (conditions whose inputs take few values in practice: the
    resource, the client app, the platform, the location); the survivors at the end of the walk
    finish their chains one policy at a time (``CompiledPolicy.resume``).
    """

    def __init__(
        self,
        policies: Sequence[CompiledPolicy],
        template: tuple[PolicyResult | None, ...],
        order: Sequence[str],
        keys: Mapping[str, StageKey],
        *,
        max_entries: int = 2_000_000,
    ) -> None:
        self.policies = tuple(policies)
        self.template = template
        self.order = {name: rank for rank, name in enumerate(order)}
        self.keys = keys
        self.max_entries = max_entries
        self.entries = 0
        self.roots: dict[Hashable, Node] = {}

    def walk(self, facts: Facts, profile: Hashable) -> Node:
        """The node for this sign-in; its ``base`` holds every result the tree settles.

        ``profile`` must cover everything ``UsersCheck.outcome_without_ids`` reads. The node's
        survivors are the policies whose conditions so far all hold.
        """
        if self.entries > self.max_entries:
            self.roots = {}
            self.entries = 0
        node = self.roots.get(profile)
        if node is None:
            node = self.roots[profile] = self._root(facts)
        known = facts.stage_keys
        key = node.key
        while key is not None:
            branch = known[node.kind] = key(facts)  # type: ignore[index]  # a node with a key has a kind
            child = node.children.get(branch)
            if child is None:
                child = node.children[branch] = self._grow(node, branch, facts)
            node = child
            key = node.key
        return node

    def _root(self, facts: Facts) -> Node:
        base = list(self.template)
        survivors: list[Survivor] = []
        for index, policy in enumerate(self.policies):
            if not (policy.enabled or policy.report_only):
                continue
            outcome = policy.users.outcome_without_ids(facts)
            if outcome.satisfied:
                survivors.append((index, policy, policy.chain((outcome,))))
            else:
                base[index] = policy.not_applied_result((outcome,))
        return self._node(base, survivors)

    def _grow(self, parent: Node, branch: Hashable, facts: Facts) -> Node:
        kind = parent.kind
        base = list(parent.base)
        survivors: list[Survivor] = []
        for survivor in parent.survivors:
            index, policy, chain = survivor
            if not chain.complete and chain.kind == kind:
                after = chain.next.get(branch)
                if after is None:
                    after = policy.step(chain, branch, facts)
                if isinstance(after, PolicyResult):
                    base[index] = after
                else:
                    survivors.append((index, policy, after))
            else:
                survivors.append(survivor)
        return self._node(base, survivors)

    def _node(self, base: list[PolicyResult | None], survivors: list[Survivor]) -> Node:
        self.entries += len(base) + len(survivors)
        return Node(tuple(base), tuple(survivors), self.order, self.keys)
