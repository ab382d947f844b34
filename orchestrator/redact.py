"""Remove secret-looking tokens, keys and passwords from any text before it is shown or stored.

`redact` masks one text; `redact_obj` every string in a JSON-like document; `escape_controls` makes
control characters visible. They are applied at the edge of every output (report files, JSON on stdout,
terminal text), so that no field can be forgotten.

The token formats follow the regular expressions of Yelp's detect-secrets plugins (Stripe, Slack, GitLab,
GitHub, AWS, private keys, JWT...), kept here as one compact table: detect-secrets itself scans files and
needs `requests` and `pyyaml`, where orch only needs to mask text, offline and fast.
"""

from __future__ import annotations

import re
from functools import lru_cache

MASK = "[redacted]"

# One row per format: (name, pattern). The whole match is masked, except a `keep` group, which stays.
TOKENS: list[tuple[str, str]] = [
    ("private key", r"-----BEGIN [A-Z ]*PRIVATE KEY-----.*?(?:-----END [A-Z ]*PRIVATE KEY-----|$)"),
    ("OpenAI/Anthropic key", r"\bsk-(?:proj-|ant-)?[A-Za-z0-9_\-]{16,}"),
    ("Stripe key", r"\b[rs]k_(?:live|test)_[0-9a-zA-Z]{16,}"),
    ("GitHub token", r"(?<![A-Za-z0-9])(?:gh[pousr]_[A-Za-z0-9]{20,}|github_pat_[A-Za-z0-9_]{20,})"),
    ("GitLab token", r"(?<![A-Za-z0-9])(?:glpat|gldt|glft|glsoat|glrt|glcbt|glimt|glptt|glagent|gloas)-"
                     r"[A-Za-z0-9_\-]{20,}"),
    ("Hugging Face token", r"(?<![A-Za-z0-9])hf_[A-Za-z0-9]{30,}"),
    ("Slack token", r"\bxox[abposr]-[A-Za-z0-9\-]{10,}"),
    ("Slack webhook", r"https://hooks\.slack\.com/(?:services|workflows|triggers)/[A-Za-z0-9_/]+"),
    ("AWS access key", r"\b(?:AKIA|ASIA)[A-Z0-9]{16}\b"),
    ("Google API key", r"\bAIza[0-9A-Za-z_\-]{35}"),
    ("npm token", r"\bnpm_[A-Za-z0-9]{36}\b"),
    ("PyPI token", r"\bpypi-AgE[A-Za-z0-9_\-]{50,}"),
    ("SendGrid key", r"\bSG\.[A-Za-z0-9_\-]{22}\.[A-Za-z0-9_\-]{43}"),
    ("JWT", r"\beyJ[A-Za-z0-9_\-]{10,}\.[A-Za-z0-9_\-]{10,}\.[A-Za-z0-9_\-]{10,}"),
    # a credential after the scheme, not a word ("basic authentication"): it has a digit, one of `~+/=`, or a
    # capital letter after its first character
    ("Authorization header", r"(?i)(?P<keep>\b(?:bearer|basic)\s+)"
                             r"(?=[A-Za-z0-9._~+/=\-]*(?:[0-9~+/=]|(?-i:(?<=[A-Za-z0-9._~+/=\-])[A-Z])))"
                             r"[A-Za-z0-9._~+/=\-]{12,}"),
    ("password in a URL", r"(?P<keep>://[^/\s:@]+:)[^@\s/]+(?=@)"),
    ("password option", r"(?P<keep>(?<![\w-])--?(?:password|passwd|token|secret|api-key)(?:=|\s+))(?!-)[^\s\"']+"),
]
_NAME = r"[A-Za-z0-9_\-]*(?:password|passwd|secret|token|api[_\-]?key|access[_\-]?key|private[_\-]?key|credential)s?"
# NAME = value, NAME: value, NAME="value", "NAME": "value", NAME='value'
_ASSIGN = re.compile(
    rf"(?i)(?P<keep>\b(?P<name>{_NAME})[\"']?\s*(?P<sep>[=:])\s*(?P<q>[\"'])?)"
    rf"(?P<secret>(?(q)[^\"'\n]{{4,}}|[^\s\"',;&]{{4,}}))")
# Values that name no secret: placeholders, types and states ("api_key: str", "token: expired", "password: none").
_NOT_A_VALUE = frozenset("none null nil true false undefined unset empty missing required optional invalid expired "
                         "revoked str string bytes int any redacted changeme".split())
_COUNT_BEFORE = re.compile(r"\d[\d,._]*\s+$")  # "163,946 tokens: …" counts tokens, it does not give one
_NUMBER = re.compile(r"[\d,._]+")
_TYPE = re.compile(r"[A-Za-z_][\w.]*\[.*")  # a type annotation: Optional[str], list[str]
_COMPILED = [(name, re.compile(p, re.S)) for name, p in TOKENS]


def _mask(m: re.Match) -> str:
    keep = m.groupdict().get("keep")
    return f"{keep}{MASK}" if keep else MASK


def _assignment(m: re.Match) -> str:
    """`NAME: value` masked, unless it is plainly no secret: a count of tokens (`input_tokens: 5821`,
    `163,946 tokens: …`), a plural label before prose (`tokens: …`, `secrets: none found`), a placeholder or a type
    (`api_key: str`, `token: ${{ secrets.X }}`)."""
    name, value, quoted = m.group("name").lower(), m.group("secret"), m.group("q") is not None
    bare = value.rstrip(")]}.,:;!?").lower()
    if "token" in name and _NUMBER.fullmatch(value):
        return m.group(0)  # a token count (input_tokens: 5821, max_tokens=4096)
    if not quoted and (bare in _NOT_A_VALUE or value.startswith(("$", "<", "{", "*")) or _TYPE.fullmatch(value)):
        return m.group(0)
    if not quoted and m.group("sep") == ":" and (name.endswith("s") or _COUNT_BEFORE.search(m.string, 0, m.start())):
        return m.group(0)  # "tokens: AskUserQuestion asked…", "12 secrets: …": a label, not NAME: value
    return f"{m.group('keep')}{MASK}"


# A literal that every pattern above needs somewhere in its match (a superset, ignoring case): text without any
# of them cannot hold a secret, and is returned after one search instead of one substitution per pattern.
_MAYBE = re.compile(r"-----BEGIN|sk-|_live_|_test_|gh[pousr]_|github_pat_|gl[a-z]+-|hf_|xox|hooks\.slack\.com|"
                    r"AKIA|ASIA|AIza|npm_|pypi-|SG\.|eyJ|bearer|basic|://|password|passwd|secret|token|"
                    r"api[_\-]?key|access[_\-]?key|private[_\-]?key|credential", re.I)


def _redact(text: str) -> str:
    if not _MAYBE.search(text):
        return text
    out = _ASSIGN.sub(_assignment, text)
    for _name, pat in _COMPILED:
        out = pat.sub(_mask, out)
    return out


_redact_short = lru_cache(maxsize=16384)(_redact)  # reports repeat the same keys and words for every task


def redact(text: str | None) -> str:
    """Return `text` with anything that looks like a secret replaced by [redacted]."""
    if not text:
        return text or ""
    return _redact_short(text) if len(text) <= 256 else _redact(text)


def redact_obj(value):
    """Every string in a JSON-like value (dict keys too) redacted; other values as they are."""
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {redact(k) if isinstance(k, str) else k: redact_obj(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [redact_obj(v) for v in value]
    return value


_CONTROLS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def escape_controls(text: str) -> str:
    """Control characters (escape sequences, bells, carriage returns, bidi overrides) as visible escapes."""
    return _CONTROLS.sub(lambda m: m.group().encode("unicode_escape").decode("ascii"), text)


def safe_text(text: str) -> str:
    """What may reach a terminal: redacted, with control characters escaped (newlines and tabs kept)."""
    return escape_controls(redact(text))
