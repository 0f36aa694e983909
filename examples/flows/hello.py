"""The smallest flow: print a greeting.

Run it directly with `python flows/hello.py`, or through a deployment in ../prefect.yaml.
"""

from __future__ import annotations

from deploytool import flow


@flow(name="hello")
def hello(name: str = "world", excited: bool = False) -> str:
    """Greet someone.

    Args:
        name: who to greet
        excited: end the greeting with an exclamation mark
    """
    greeting = f"Hello, {name}{'!' if excited else '.'}"
    print(greeting)
    return greeting


if __name__ == "__main__":
    hello()
