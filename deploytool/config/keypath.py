"""Key paths as people read them: `deployments[etl-daily].work_pool.name`, `build[0].git_clone.branch`."""

from __future__ import annotations

TYPE_CHECKING = False  # not typing's: `import typing` costs every command a few ms
if TYPE_CHECKING:
    from typing import Any

    from deploytool.config.yamlload import Path  # a type only: no yaml for the code that formats key paths


def format_path(data: Any, path: Path) -> str:
    """Render `path` through `data`; list items that are named mappings are shown by name."""
    out = ""
    node = data
    for part in path:
        if isinstance(part, int):
            label = str(part)
            if isinstance(node, list) and 0 <= part < len(node):
                item = node[part]
                name = item.get("name") if isinstance(item, dict) else None
                if isinstance(name, str) and name and out == "deployments":
                    label = name
                node = item
            else:
                node = None
            out += f"[{label}]"
        else:
            out += f".{part}" if out else str(part)
            node = node.get(part) if isinstance(node, dict) else None
    return out
