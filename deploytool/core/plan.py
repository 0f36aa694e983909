"""Compare wanted deployments with the stored ones: create, update (which fields), unchanged, delete."""

from __future__ import annotations

import json

from deploytool.errors import NotFoundError
from deploytool.models import Deployment
from deploytool.records import field, field_names, record
from deploytool.store import Store

TYPE_CHECKING = False  # not typing's: `validate` and `run` import this module (issue 17, item 4)
if TYPE_CHECKING:
    from typing import Any, Literal

    Action = Literal["create", "update", "unchanged", "delete"]

# Bookkeeping fields that differ between any two writes; every other field is the deployment's content.
_BOOKKEEPING = frozenset({"id", "created", "updated", "content_hash", "flow_name", "name"})


def changed_fields(current: Deployment, wanted: Deployment) -> list[str]:
    return [
        name
        for name in field_names(Deployment)
        if name not in _BOOKKEEPING and getattr(current, name) != getattr(wanted, name)
    ]


@record(frozen=False)
class PlanItem:
    action: Action
    deployment: Deployment
    changed: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "action": self.action,
            "deployment": self.deployment.full_name,
            "pool": self.deployment.pool_name,
            "changed": self.changed,
        }
        if unresolved := self.unresolved():
            data["unresolved"] = dict(unresolved)
        return data

    def unresolved(self) -> list[tuple[str, str]]:
        """In a dry run: the values (key path, value) that hold a step output known only after the step ran,
        shown as its placeholder (`<image from step build-image>`, deploytool.steps.preview)."""
        from deploytool.steps.preview import PLACEHOLDER

        d = self.deployment
        found: list[tuple[str, str]] = []

        def walk(value: Any, path: str) -> None:
            if isinstance(value, str) and PLACEHOLDER.search(value):
                found.append((path, value))
            elif isinstance(value, dict):
                for key, item in value.items():
                    walk(item, f"{path}.{key}" if path else str(key))
            elif isinstance(value, list):
                for index, item in enumerate(value):
                    walk(item, f"{path}[{index}]")

        pull = {f"pull[{i}].{step.get('name')}": step.get("inputs") for i, step in enumerate(d.pull_steps)}
        fields = {"parameters": d.parameters, "job_variables": d.job_variables, "tags": d.tags}
        walk({**fields, "description": d.description, "version": d.version, **pull}, "")
        return found


@record(frozen=False)
class Plan:
    items: list[PlanItem]

    @property
    def has_changes(self) -> bool:
        return any(i.action != "unchanged" for i in self.items)

    def count(self, action: Action) -> int:
        return sum(1 for i in self.items if i.action == action)


def content_hash(deployment: Deployment) -> str:
    """A hash of everything a deploy writes, so an unchanged deployment is recognised and left alone."""
    import hashlib  # when deploying: `validate` loads this module and hashes nothing

    fields = {name: getattr(deployment, name) for name in field_names(Deployment) if name not in _NOT_HASHED}
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
