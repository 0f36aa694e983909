"""Compare wanted deployments with the stored ones: create, update (which fields), unchanged, delete."""

from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass, field
from typing import Any, Literal

from deploytool.errors import NotFoundError
from deploytool.models import Deployment
from deploytool.store import Store

Action = Literal["create", "update", "unchanged", "delete"]

# Bookkeeping fields that differ between any two writes; every other field is the deployment's content.
_BOOKKEEPING = frozenset({"id", "created", "updated", "content_hash", "flow_name", "name"})


def changed_fields(current: Deployment, wanted: Deployment) -> list[str]:
    return [
        f.name
        for f in dataclasses.fields(Deployment)
        if f.name not in _BOOKKEEPING and getattr(current, f.name) != getattr(wanted, f.name)
    ]


@dataclass
class PlanItem:
    action: Action
    deployment: Deployment
    changed: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "action": self.action,
            "deployment": self.deployment.full_name,
            "pool": self.deployment.pool_name,
            "changed": self.changed,
        }


@dataclass
class Plan:
    items: list[PlanItem]

    @property
    def has_changes(self) -> bool:
        return any(i.action != "unchanged" for i in self.items)

    def count(self, action: Action) -> int:
        return sum(1 for i in self.items if i.action == action)


def content_hash(deployment: Deployment) -> str:
    """A hash of everything a deploy writes, so an unchanged deployment is recognised and left alone."""
    fields = {f.name: getattr(deployment, f.name) for f in dataclasses.fields(Deployment) if f.name not in _NOT_HASHED}
    text = json.dumps(fields, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


# Bookkeeping the store sets, and the hash itself.
_NOT_HASHED = frozenset({"id", "created", "updated", "content_hash"})


def plan_deployments(store: Store, wanted: list[Deployment], prune: list[Deployment]) -> Plan:
    items: list[PlanItem] = []
    for deployment in wanted:
        try:
            current = store.deployments.get_by_name(deployment.flow_name, deployment.name)
        except NotFoundError:
            items.append(PlanItem("create", deployment))
            continue
        if current.content_hash == deployment.content_hash:
            items.append(PlanItem("unchanged", current))
            continue
        items.append(PlanItem("update", deployment, changed_fields(current, deployment) or ["content"]))
    items.extend(PlanItem("delete", d) for d in prune)
    return Plan(items)
