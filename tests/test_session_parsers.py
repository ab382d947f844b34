"""Property tests: the session parsers and the incremental reader survive anything and agree with one full read."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from orchestrator.probes.sessions import claude
from orchestrator.probes.sessions import codex
from orchestrator.probes.sessions.reader import Cursor, read_appended
from orchestrator.classify.agent import derive

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=timezone.utc)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=12)
kinds = st.sampled_from(["session_meta", "turn_context", "event_msg", "response_item", "compacted", "user",
                         "assistant", "system", "summary", "x"])
ptypes = st.sampled_from(["task_started", "task_complete", "turn_aborted", "user_message", "agent_message",
                          "token_count", "error", "function_call", "function_call_output", "message",
                          "local_shell_call", "custom_tool_call", "turn_duration", "api_error", "zzz"])
lines = st.fixed_dictionaries({"type": kinds, "timestamp": st.one_of(st.text(max_size=5), st.just("2026-11-25T11:00:00Z")),
                               "payload": st.fixed_dictionaries({"type": ptypes}, optional={
                                   "call_id": st.sampled_from(["a", "b"]), "turn_id": st.text(max_size=3),
                                   "reason": st.sampled_from(["interrupted", "replaced", 3]),
                                   "info": json_values, "rate_limits": json_values, "codex_error_info": json_values,
                                   "arguments": json_values, "name": json_values, "cwd": json_values}),
                               "subtype": ptypes, "message": json_values, "cwd": json_values,
                               "sessionId": json_values, "isSidechain": st.booleans()})


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(lines, json_values), max_size=30))
def test_parsers_never_raise_and_state_stays_json(objs):
    for mod in (codex, claude):
        state = mod.new_state()
        for obj in objs:
            mod.feed(state, obj)
        json.dumps(state)
        for hooks_seen in (False, True):
            view = derive(state, path="p", size=1, mtime=NOW - timedelta(minutes=3), now=NOW,
                          wait_after=timedelta(seconds=30), hooks_seen=hooks_seen)
            assert view.state in ("running", "turn-ended", "interrupted", "errored", "waiting-approval",
                                  "waiting-input", "usage-limit")


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(chunks=st.lists(st.one_of(st.binary(max_size=40), st.builds(lambda o: (json.dumps(o) + "\n").encode(), json_values)),
                       max_size=12),
       cuts=st.lists(st.integers(min_value=0, max_value=400), max_size=5))
def test_incremental_reads_equal_one_read(tmp_path, chunks, cuts):
    data = b"".join(chunks)
    whole = tmp_path / "whole.jsonl"
    whole.write_bytes(data)
    expected: list = []
    read_appended(str(whole), Cursor(), expected.append, lambda: None)

    grown = tmp_path / "grown.jsonl"
    grown.write_bytes(b"")
    got: list = []
    cur = Cursor()
    pos = 0
    for cut in sorted(set(min(c, len(data)) for c in cuts)) + [len(data)]:
        with open(grown, "ab") as f:
            f.write(data[pos:cut])
        pos = cut
        cur, _ = read_appended(str(grown), cur, got.append, got.clear)
    assert got == expected
    assert all(isinstance(o, dict) for o in got)
