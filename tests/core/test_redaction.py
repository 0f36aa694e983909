"""The one redaction helper: a secret is hidden in every form deploytool writes it in (deploytool.redaction)."""

from __future__ import annotations

import json
from collections.abc import Callable

from hypothesis import assume, given, settings
from hypothesis import strategies as st

from deploytool.redaction import MASK, MIN_LINE_CHARS, Redactor, process_redactor, representations

# Secrets made of what breaks naive masking: quotes of both kinds, backslashes, unicode (printable or not),
# newlines; plus ordinary letters and digits.
TRICKY = st.sampled_from(['"', "'", "\\", "\n", "\r", "\t", "Ü", "€", "é", "\x00", "\u202e", "😀", "ß"])
SECRET = st.text(alphabet=st.characters(codec="utf-8") | TRICKY, min_size=1, max_size=24).filter(lambda s: "*" not in s)
AROUND = st.text(max_size=12)

# What stands for a secret in the text deploytool writes: the body of each string literal it may appear in.
FORMS: dict[str, Callable[[str], str]] = {
    "as is": lambda s: s,
    "repr": lambda s: repr(s)[1:-1],
    "repr, double quotes": lambda s: repr("'" + s)[2:-1] if repr("'" + s)[0] == '"' else s,
    "ascii": lambda s: ascii(s)[1:-1],
    "json": lambda s: json.dumps(s, ensure_ascii=False)[1:-1],
    "json ascii": lambda s: json.dumps(s)[1:-1],
    "repr in repr": lambda s: repr(repr(s))[1:-1],
    "repr in json": lambda s: json.dumps(repr(s), ensure_ascii=False)[1:-1],
    "json in repr": lambda s: repr(json.dumps(s))[1:-1],
    "ascii in json": lambda s: json.dumps(ascii(s))[1:-1],
}


@settings(max_examples=200, deadline=None)
@given(secret=SECRET, before=AROUND, after=AROUND, form=st.sampled_from(sorted(FORMS)))
def test_no_form_of_a_secret_survives(secret: str, before: str, after: str, form: str) -> None:
    body = FORMS[form](secret)
    redacted = Redactor([secret])(before + body + after)
    assert body not in redacted, (form, redacted)
    assert not [r for r in representations(secret) if r in redacted]


@settings(max_examples=100, deadline=None)
@given(secret=SECRET, before=AROUND, after=AROUND)
def test_each_line_of_a_multi_line_secret_is_hidden(secret: str, before: str, after: str) -> None:
    pem = f"-----BEGIN KEY-----\n{secret}\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n-----END KEY-----\n"
    redact = Redactor([pem])
    for line in pem.splitlines():
        line = line.strip()
        if len(line) >= MIN_LINE_CHARS:
            assert line not in redact(before + line + after)


@settings(max_examples=100, deadline=None)
@given(secret=SECRET, before=AROUND, after=AROUND)
def test_the_text_around_a_secret_is_kept_as_it_is(secret: str, before: str, after: str) -> None:
    used = {c.lower() for form in representations(secret) for c in form} | {c.upper() for c in secret}
    keep = lambda text: "".join(c for c in text if c.lower() not in used and c.upper() not in used)  # noqa: E731
    before, after = keep(before), keep(after)
    assume(secret.strip() == secret)
    assert Redactor([secret])(before + secret + after) == before + MASK + after


@settings(max_examples=100, deadline=None)
@given(secret=SECRET)
def test_matching_ignores_case(secret: str) -> None:
    assume(secret.upper() != secret and len(secret.upper()) == len(secret))
    assert Redactor([secret])(f"<{secret.upper()}>") == f"<{MASK}>"


def test_structures_are_redacted_everywhere_and_longest_first() -> None:
    redact = Redactor(["s3cret-pw", "hunter22"])
    logged = {"msg": "login with hunter22 failed", "env": ["PW=s3cret-pw"], "n": 1, "t": ("hunter22",)}
    assert redact.value(logged) == {"msg": "login with *** failed", "env": ["PW=***"], "n": 1, "t": ["***"]}
    assert Redactor([]).value({"a": "nothing"}) == {"a": "nothing"}
    assert Redactor(["a-long", "a-longer-secret"])("a-longer-secret and a-long") == "*** and ***"


def test_the_issue_examples() -> None:
    secret = 'Pa\\ss"w0rd-Ü'
    redact = Redactor([secret])
    assert redact(f"failed: KeyError: {KeyError(secret)}") == "failed: KeyError: '***'"
    assert redact(f"flow completed; result: { ({'token': secret})!r}") == "flow completed; result: {'token': '***'}"
    assert redact(json.dumps({"message": secret})) == '{"message": "***"}'


def test_every_redactor_feeds_the_process_wide_one_used_by_crash_reports() -> None:
    Redactor(["only-known-to-this-test-7781"], remember=True)
    assert "not-remembered-5521" in process_redactor()(Redactor(["not-remembered-5521"])("x") + "not-remembered-5521")
    shown = process_redactor()("boom: 'only-known-to-this-test-7781'")
    assert "only-known-to-this-test-7781" not in shown and MASK in shown
