"""Finding flows in source files without importing them, their parameter schemas, and parameter checks."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

import pytest

from deploytool.config.flowscan import EntrypointError, scan_entrypoint
from deploytool.config.paramcheck import check_parameters
from deploytool.errors import DeploytoolError


def write(base: Path, rel: str, source: str) -> Path:
    path = base / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(source))
    return path


def schema_of(tmp_path: Path, signature: str, imports: str = "") -> dict[str, Any]:
    write(tmp_path, "f.py", f"{imports}\n@flow\ndef f({signature}):\n    pass\n")
    return scan_entrypoint("f.py:f", tmp_path).parameter_schema


def props(tmp_path: Path, signature: str, imports: str = "") -> dict[str, Any]:
    """The properties of a schema without title/position, to compare types and defaults only."""
    properties = schema_of(tmp_path, signature, imports)["properties"]
    return {n: {k: v for k, v in p.items() if k not in ("title", "position")} for n, p in properties.items()}


# --- finding the function ----------------------------------------------------------------------------------


def test_decorated_flow_with_options_and_docstring(tmp_path: Path) -> None:
    write(
        tmp_path,
        "flows/etl.py",
        '''
        import boto3  # not installed here: the file is never imported
        from prefect import flow

        raise RuntimeError("top-level code must not run")

        @flow(name="Nightly ETL", retries=2, retry_delay_seconds=[1, 10], log_prints=True, version=VERSION)
        def nightly_etl(day: str):
            """Load one day."""
        ''',
    )
    info = scan_entrypoint("flows/etl.py:nightly_etl", tmp_path)
    assert (info.function, info.flow_name, info.is_flow) == ("nightly_etl", "Nightly ETL", True)
    assert info.options == {"name": "Nightly ETL", "retries": 2, "retry_delay_seconds": [1, 10], "log_prints": True}
    assert info.unresolved_options == ("version",)  # an expression: unknown without running the code
    assert info.description == "Load one day."
    assert info.line == 8  # the `def` line (the source starts with a blank line), not the decorator
    assert info.path == (tmp_path / "flows/etl.py").resolve()


@pytest.mark.parametrize(
    "decorator", ["@flow", "@flow()", "@prefect.flow", "@prefect.flow(retries=1)", "@deploytool.flow", "@dt.flow()"]
)
def test_decorator_forms(tmp_path: Path, decorator: str) -> None:
    write(tmp_path, "f.py", f"{decorator}\nasync def load_data_now(): ...\n")
    info = scan_entrypoint("f.py:load_data_now", tmp_path)
    assert info.is_flow and info.flow_name == "load-data-now" and info.is_async


def test_undecorated_function_is_found_but_not_a_flow(tmp_path: Path) -> None:
    write(tmp_path, "f.py", "@other\ndef my_job(x: int = 1):\n    'Doc.'\n")
    info = scan_entrypoint("f.py:my_job", tmp_path)
    assert info.is_flow is False
    assert info.flow_name == "my-job"
    assert info.options == {}


def test_description_option_wins_over_docstring(tmp_path: Path) -> None:
    write(tmp_path, "f.py", "@flow(description='From the decorator')\ndef f():\n    'From the docstring'\n")
    assert scan_entrypoint("f.py:f", tmp_path).description == "From the decorator"


def test_class_method_entrypoint_skips_self(tmp_path: Path) -> None:
    write(
        tmp_path,
        "f.py",
        """
        class Jobs:
            @flow
            def run(self, n: int): ...

            @staticmethod
            @flow
            def static(n: int): ...
        """,
    )
    assert list(scan_entrypoint("f.py:Jobs.run", tmp_path).parameter_schema["properties"]) == ["n"]
    assert list(scan_entrypoint("f.py:Jobs.static", tmp_path).parameter_schema["properties"]) == ["n"]


def test_conditional_and_redefined_functions(tmp_path: Path) -> None:
    write(
        tmp_path,
        "f.py",
        """
        def f(a): ...
        if True:
            @flow(name="second")
            def f(b): ...
        """,
    )
    info = scan_entrypoint("f.py:f", tmp_path)
    assert info.flow_name == "second"  # the later definition wins, as when the module runs


@pytest.mark.parametrize("entrypoint", ["pkg.mod:my_flow", "pkg.mod.my_flow"])
def test_module_entrypoint(tmp_path: Path, entrypoint: str) -> None:
    write(tmp_path, "pkg/__init__.py", "")
    write(tmp_path, "pkg/mod.py", "@flow\ndef my_flow(): ...\n")
    assert scan_entrypoint(entrypoint, tmp_path).path == (tmp_path / "pkg/mod.py").resolve()


def test_module_entrypoint_to_a_package_and_src_layout(tmp_path: Path) -> None:
    write(tmp_path, "src/app/flows/__init__.py", "@flow\ndef main(): ...\n")
    info = scan_entrypoint("app.flows:main", tmp_path)
    assert info.path == (tmp_path / "src/app/flows/__init__.py").resolve()


# --- errors ------------------------------------------------------------------------------------------------


def test_entrypoint_error_is_a_deploytool_error() -> None:
    assert issubclass(EntrypointError, DeploytoolError)


@pytest.mark.parametrize("entrypoint", ["flows.py", "flows.py:", ":f", "flows.py:1abc", "flows.py:a.b.c", "a b:c"])
def test_bad_format(tmp_path: Path, entrypoint: str) -> None:
    with pytest.raises(EntrypointError) as caught:
        scan_entrypoint(entrypoint, tmp_path)
    assert caught.value.hint is not None and "path/to/file.py:function" in caught.value.hint


def test_file_not_found_says_where_it_looked(tmp_path: Path) -> None:
    with pytest.raises(EntrypointError) as caught:
        scan_entrypoint("flows/missing.py:f", tmp_path)
    assert caught.value.message == f"entrypoint file {(tmp_path / 'flows/missing.py').resolve()} does not exist"
    assert caught.value.hint is not None and "relative to the project file's directory" in caught.value.hint
    assert str(tmp_path.resolve()) in caught.value.hint


def test_module_not_found_lists_the_candidates(tmp_path: Path) -> None:
    with pytest.raises(EntrypointError) as caught:
        scan_entrypoint("pkg.mod:f", tmp_path)
    assert "module 'pkg.mod'" in caught.value.message
    assert caught.value.hint is not None
    assert "pkg/mod.py" in caught.value.hint and "src/pkg/mod/__init__.py" in caught.value.hint


def test_syntax_error_gives_the_line(tmp_path: Path) -> None:
    write(tmp_path, "f.py", "@flow\ndef f(:\n    pass\n")
    with pytest.raises(EntrypointError, match=r"syntax error in .*f\.py at line 2"):
        scan_entrypoint("f.py:f", tmp_path)


def test_missing_function_suggests_a_flow_first(tmp_path: Path) -> None:
    write(
        tmp_path,
        "f.py",
        """
        def process_dat(): ...

        @flow
        def process_data(): ...

        @flow
        def other(): ...
        """,
    )
    with pytest.raises(EntrypointError) as caught:
        scan_entrypoint("f.py:process_daat", tmp_path)
    assert caught.value.message.startswith("function 'process_daat' is not defined in ")
    assert caught.value.hint == "did you mean 'process_data'? flows in this file: process_data, other"


def test_missing_function_in_a_file_without_flows(tmp_path: Path) -> None:
    write(tmp_path, "f.py", "def helper(): ...\n")
    with pytest.raises(EntrypointError) as caught:
        scan_entrypoint("f.py:main", tmp_path)
    assert caught.value.hint == "no @flow functions here; functions: helper"


def test_imported_name_is_explained(tmp_path: Path) -> None:
    write(tmp_path, "f.py", "from .real import my_flow\n")
    with pytest.raises(EntrypointError, match=r"imported into .* from \.real, not defined there"):
        scan_entrypoint("f.py:my_flow", tmp_path)


def test_missing_class(tmp_path: Path) -> None:
    write(tmp_path, "f.py", "class Jobz: ...\n")
    with pytest.raises(EntrypointError) as caught:
        scan_entrypoint("f.py:Jobs.run", tmp_path)
    assert caught.value.hint is not None and "did you mean 'Jobz'?" in caught.value.hint


# --- parameter schema --------------------------------------------------------------------------------------


def test_schema_shape_positions_and_required(tmp_path: Path) -> None:
    schema = schema_of(tmp_path, "name: str, count: int = 3, *args, flag: bool, **kwargs")
    assert schema["title"] == "Parameters" and schema["type"] == "object"
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["properties"]["name"] == {"title": "name", "position": 0, "type": "string"}
    assert schema["properties"]["count"] == {"title": "count", "position": 1, "default": 3, "type": "integer"}
    assert schema["properties"]["flag"]["position"] == 2  # *args is skipped
    assert schema["required"] == ["name", "flag"]
    assert schema["additionalProperties"] is True  # **kwargs takes any other name


def test_without_kwargs_no_other_parameters(tmp_path: Path) -> None:
    assert schema_of(tmp_path, "a, /, b=2")["additionalProperties"] is False


def test_non_literal_default_is_optional_without_default(tmp_path: Path) -> None:
    assert props(tmp_path, "when=datetime.now(), n: int = DEFAULT_N") == {"when": {}, "n": {"type": "integer"}}
    assert schema_of(tmp_path, "when=datetime.now()")["required"] == []


@pytest.mark.parametrize(
    ("annotation", "expected"),
    [
        ("str", {"type": "string"}),
        ("int", {"type": "integer"}),
        ("float", {"type": "number"}),
        ("bool", {"type": "boolean"}),
        ("list", {"type": "array"}),
        ("list[int]", {"type": "array", "items": {"type": "integer"}}),
        ("List[str]", {"type": "array", "items": {"type": "string"}}),
        ("typing.List[str]", {"type": "array", "items": {"type": "string"}}),
        ("set[str]", {"type": "array", "uniqueItems": True, "items": {"type": "string"}}),
        ("dict", {"type": "object"}),
        ("Dict[str, float]", {"type": "object", "additionalProperties": {"type": "number"}}),
        ("tuple[int, ...]", {"type": "array", "items": {"type": "integer"}}),
        (
            "tuple[int, str]",
            {"type": "array", "prefixItems": [{"type": "integer"}, {"type": "string"}], "minItems": 2, "maxItems": 2},
        ),
        ("int | None", {"anyOf": [{"type": "integer"}, {"type": "null"}]}),
        ("Optional[str]", {"anyOf": [{"type": "string"}, {"type": "null"}]}),
        ("Union[int, str]", {"anyOf": [{"type": "integer"}, {"type": "string"}]}),
        ("Literal['fast', 'slow']", {"enum": ["fast", "slow"], "type": "string"}),
        ("Literal[1, 'a']", {"enum": [1, "a"]}),
        ("datetime", {"type": "string", "format": "date-time"}),
        ("datetime.date", {"type": "string", "format": "date"}),
        ("Annotated[int, 'meta']", {"type": "integer"}),
        ("'list[str]'", {"type": "array", "items": {"type": "string"}}),
        ("Any", {}),
        ("MyModel", {}),
        ("MyModel | None", {}),
    ],
)
def test_annotation_to_schema(tmp_path: Path, annotation: str, expected: dict[str, Any]) -> None:
    assert props(tmp_path, f"x: {annotation}") == {"x": expected}


def test_unannotated_parameter_takes_anything(tmp_path: Path) -> None:
    assert props(tmp_path, "x, y=[1, 2]") == {"x": {}, "y": {"default": [1, 2]}}


def test_none_default_makes_the_type_nullable(tmp_path: Path) -> None:
    assert props(tmp_path, "x: int = None") == {
        "x": {"default": None, "anyOf": [{"type": "integer"}, {"type": "null"}]}
    }


def test_descriptions_from_google_style_docstring(tmp_path: Path) -> None:
    write(
        tmp_path,
        "f.py",
        '''
        @flow
        def f(name: str, count: int = 1):
            """Greet.

            Args:
                name: who to greet,
                    on two lines
                count (int): how often

            Returns:
                nothing
            """
        ''',
    )
    properties = scan_entrypoint("f.py:f", tmp_path).parameter_schema["properties"]
    assert properties["name"]["description"] == "who to greet, on two lines"
    assert properties["count"]["description"] == "how often"


# --- check_parameters --------------------------------------------------------------------------------------

SIGNATURE = (
    "name: str, count: int = 3, ratio: float = 0.5, flag: bool = False, mode: Literal['fast', 'slow'] = 'fast', "
    "limit: int | None = None, tags: list[str] = [], when: datetime | None = None, extra: dict[str, int] = {}"
)


@pytest.fixture
def schema(tmp_path: Path) -> dict[str, Any]:
    return schema_of(tmp_path, SIGNATURE)


def problems(schema: dict[str, Any], parameters: dict[str, Any], **kw: bool) -> list[tuple[str, str, str | None]]:
    return [(p.name, p.message, p.hint) for p in check_parameters(schema, parameters, **kw)]


def test_valid_parameters(schema: dict[str, Any]) -> None:
    good = {
        "name": "x",
        "count": 2,
        "ratio": 1,  # an int is a number
        "flag": True,
        "mode": "slow",
        "limit": None,  # nullable
        "tags": ["a"],
        "when": "2024-01-01T09:00:00",
        "extra": {"a": 1},
    }
    assert problems(schema, good, require_all=True) == []


def test_unknown_parameter_with_did_you_mean(schema: dict[str, Any]) -> None:
    [(name, message, hint)] = problems(schema, {"cuont": 1})
    assert (name, message) == ("cuont", "unknown parameter 'cuont'")
    assert hint is not None and hint.startswith("did you mean 'count'? the flow's parameters are: name, count, ")


def test_unknown_parameter_of_a_flow_without_parameters(tmp_path: Path) -> None:
    assert problems(schema_of(tmp_path, ""), {"x": 1}) == [
        ("x", "unknown parameter 'x'", "the flow takes no parameters")
    ]


def test_kwargs_flow_accepts_unknown_names(tmp_path: Path) -> None:
    assert problems(schema_of(tmp_path, "a: int, **kw"), {"b": "anything"}) == []


def test_missing_required_only_when_asked(schema: dict[str, Any]) -> None:
    assert problems(schema, {}) == []
    assert problems(schema, {}, require_all=True) == [
        ("name", "required parameter 'name' has no value", "give it a value (a string) under parameters")
    ]


@pytest.mark.parametrize(
    ("parameters", "message", "hint"),
    [
        ({"count": "abc"}, "parameter 'count' must be an integer, got 'abc' (a string)", None),
        ({"count": "3"}, "parameter 'count' must be an integer, got '3' (a string)", "write it without quotes: 3"),
        ({"count": True}, "parameter 'count' must be an integer, got True (a boolean)", None),
        ({"count": 2.5}, "parameter 'count' must be an integer, got 2.5 (a number)", None),
        ({"ratio": "x"}, "parameter 'ratio' must be a number, got 'x' (a string)", None),
        ({"flag": 1}, "parameter 'flag' must be true or false, got 1 (an integer)", None),
        (
            {"flag": "true"},
            "parameter 'flag' must be true or false, got 'true' (a string)",
            "write it without quotes: true",
        ),
        ({"mode": "medium"}, "parameter 'mode' must be one of 'fast', 'slow', got 'medium' (a string)", None),
        ({"limit": "x"}, "parameter 'limit' must be an integer or null, got 'x' (a string)", None),
        ({"name": None}, "parameter 'name' must be a string, got None (null)", None),
        ({"tags": "a"}, "parameter 'tags' must be a list of strings, got 'a' (a string)", None),
        ({"tags": ["a", 1]}, "parameter 'tags' must be a list of strings, got ['a', 1] (a list)", None),
        (
            {"when": "tomorrow"},
            "parameter 'when' must be an ISO-8601 date and time or null, got 'tomorrow' (a string)",
            None,
        ),
        ({"extra": {"a": "b"}}, "parameter 'extra' must be a mapping, got {'a': 'b'} (a mapping)", None),
    ],
)
def test_wrong_types(schema: dict[str, Any], parameters: dict[str, Any], message: str, hint: str | None) -> None:
    [(_, got, got_hint)] = problems(schema, parameters)
    assert got == message
    assert got_hint == hint


def test_integral_float_is_an_integer(schema: dict[str, Any]) -> None:
    assert problems(schema, {"count": 3.0}) == []


def test_placeholders_are_not_type_checked(schema: dict[str, Any]) -> None:
    assert problems(schema, {"count": "{{ $COUNT }}", "tags": ["{{ build.tag }}"], "flag": "{{ x }}"}) == []


def test_yaml_datetime_value_fits_a_datetime_parameter(schema: dict[str, Any]) -> None:
    from datetime import datetime

    assert problems(schema, {"when": datetime(2024, 1, 1)}) == []
