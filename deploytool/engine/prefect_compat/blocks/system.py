"""`prefect.blocks.system.Secret`: `Secret.load("name").get()`, from the `secret` blocks the worker passed to
the job (`deploytool block set secret/NAME`); the values are redacted from the run's logs."""

from __future__ import annotations

from typing import Any

from deploytool.engine.prefect_compat._support import module_getattr, run_spec, unsupported


class SecretStr:
    """Like pydantic's SecretStr: printed as stars, `get_secret_value()` gives the value."""

    def __init__(self, value: Any) -> None:
        self._value = value

    def get_secret_value(self) -> Any:
        return self._value

    def __repr__(self) -> str:
        return "SecretStr('**********')"

    __str__ = __repr__


class Secret:
    """Prefect's Secret block: `Secret.load("name").get()` (or `.value.get_secret_value()`)."""

    def __init__(self, value: Any) -> None:
        self.value = SecretStr(value)

    @classmethod
    def load(cls, name: str, validate: bool = True, **_: Any) -> Secret:
        secrets = run_spec().get("secrets") or {}
        if name not in secrets:
            known = ", ".join(sorted(secrets)) or "none"
            raise ValueError(
                f"Unable to find block document named {name!r} for block type 'secret' (secret blocks passed to"
                f" this run: {known}); create it with: deploytool block set secret/{name} value=..."
            )
        return cls(secrets[name])

    def get(self) -> Any:
        return self.value.get_secret_value()

    def save(self, *args: Any, **kwargs: Any) -> Any:
        raise unsupported("prefect.blocks.system.Secret.save", "a job cannot write to deploytool's store")

    def __repr__(self) -> str:
        return "Secret(value=SecretStr('**********'))"


__all__ = ["Secret"]


def __getattr__(name: str) -> Any:
    return module_getattr("prefect.blocks.system", name)
