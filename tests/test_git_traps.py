"""A worker's git configuration never runs a program inside orch: every trap, in every place, against every command.

Each trap is a command that leaves a marker file. The traps are first shown to be armed (plain git, doing what orch
does, leaves each marker); then every orch command that touches git runs, and no marker may appear."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

pytestmark = pytest.mark.faults

HOOKS = ("reference-transaction", "post-checkout", "pre-commit", "post-commit", "post-merge", "pre-auto-gc",
         "post-rewrite", "post-index-change", "pre-push", "fsmonitor-watchman", "push-to-checkout")
CAT_ARG = 'cat "$1"'  # textconv gets the file as its argument
STALE = 1_600_000_000  # an mtime the index never recorded: git must read these files again (through filters)


class Traps:
    def __init__(self, base: Path):
        self.dir = base / "markers"
        self.dir.mkdir()
        self.bin = base / "trapbin"
        self.bin.mkdir()

    def cmd(self, name: str, then: str = "exit 1") -> str:
        """A program (a script: some settings are run without a shell) that leaves the marker `name`."""
        script = self.bin / name
        script.write_text(f"#!/bin/sh\ntouch '{self.dir / name}'\n{then}\n")
        script.chmod(0o755)
        return str(script)

    def seen(self) -> set[str]:
        return {p.name for p in self.dir.iterdir()}

    def clear(self) -> None:
        for p in self.dir.iterdir():
            p.unlink()


def write_config(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as fh:
        fh.write(text)


def filter_section(t: Traps, name: str, process: bool = False) -> str:
    if process:
        return f'[filter "{name}"]\n\tprocess = {t.cmd("filter-" + name)}\n'
    return (f'[filter "{name}"]\n\tclean = {t.cmd("filter-" + name, "cat")}\n'
            f'\tsmudge = {t.cmd("smudge-" + name, "cat")}\n\trequired = true\n')


def hooks(folder: Path, t: Traps, tag: str) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for name in HOOKS:
        h = folder / name
        h.write_text(f"#!/bin/sh\ntouch '{t.dir}/hook-{tag}-{name}'\n")
        h.chmod(0o755)


def stale(*files: Path) -> None:
    for f in files:
        os.utime(f, (STALE, STALE))


def raw(r, cwd, *args, check=False):
    """Plain git as a person would run it (index untouched, as orch leaves it)."""
    return subprocess.run(["git", "--no-optional-locks", "-C", str(cwd), *args], env=r.env, capture_output=True,
                          text=True, timeout=60, check=check)


def build(r, t: Traps) -> dict:
    """Tasks a (config.worktree, a submodule, a signed commit), b (includeIf gitdir, a nested repository),
    c (include.path), d1/d2 (decided, for cleanup); the integration checkout has the shared config traps."""
    root = r.root
    r.write(root, ".gitattributes", "*.fs filter=fshared diff=dshared merge=mshared\n*.fp filter=fproc\n"
            "*.fi filter=finc diff=dinc merge=minc\n*.fr filter=froot merge=mroot\n*.fw filter=fwt\n"
            "*.fb filter=fifb\n*.fc filter=fincc\n*.fd filter=fd1\n")
    for ext in ("fs", "fi", "fr", "fw", "fb", "fc", "fd"):
        r.write(root, f"f.{ext}", f"base {ext}\n")
    r.git("add", "-A")
    r.git("commit", "-qm", "attributes")
    sub = r.base / "subsrc"
    r.git("init", "-q", "-b", "main", str(sub))
    r.commit(sub, "s.txt", "s\n", "sub")

    wts = {k: r.worktree(k) for k in ("a", "b", "c", "d1", "d2", "e")}
    # conflicting edits in files with merge drivers, so that review's merge-tree needs them
    for ext in ("fs", "fi", "fr"):
        r.write(root, f"f.{ext}", f"main side {ext}\n")
        r.write(wts["a"], f"f.{ext}", f"worker side {ext}\n")
    r.git("commit", "-qam", "main moves on")
    r.git("add", "-A", cwd=wts["a"])
    r.git("commit", "-qm", "worker edits", cwd=wts["a"])
    r.git("-c", "protocol.file.allow=always", "submodule", "add", "-q", str(sub), "sub", cwd=wts["a"])
    r.git("commit", "-qm", "a submodule", cwd=wts["a"])
    # a "signed" commit: git log with log.showSignature runs gpg.program on it
    tree = r.git("rev-parse", "HEAD^{tree}", cwd=wts["a"])
    parent = r.git("rev-parse", "HEAD", cwd=wts["a"])
    body = (f"tree {tree}\nparent {parent}\nauthor T <t@e> 1700000000 +0000\ncommitter T <t@e> 1700000000 +0000\n"
            "gpgsig -----BEGIN PGP SIGNATURE-----\n \n abc\n -----END PGP SIGNATURE-----\n\nsigned\n")
    signed = subprocess.run(["git", "hash-object", "-t", "commit", "-w", "--stdin"], cwd=wts["a"], env=r.env,
                            input=body, capture_output=True, text=True, check=True).stdout.strip()
    r.git("update-ref", "refs/heads/a", signed, cwd=wts["a"])
    r.git("reset", "-q", "--hard", signed, cwd=wts["a"])
    r.write(wts["a"] / "sub", "s.txt", "dirty inside the submodule\n")

    nested = wts["b"] / "nested"
    r.git("init", "-q", "-b", "main", str(nested))
    r.commit(nested, "n.txt", "n\n", "nested")
    r.git("add", "nested", cwd=wts["b"])  # an embedded repository, recorded as a gitlink
    r.git("commit", "-qm", "embed", cwd=wts["b"])
    r.write(nested, "n.txt", "dirty inside the nested repository\n")
    r.commit(wts["e"], "z.fp", "for a process filter, which stops git status where it fails: only in e\n")
    r.commit(wts["d1"], "d1.txt", "d1\n")

    r.orch("package", "add", "P", "--goal", "g", "--accept", "true")
    r.dispatch("a", "a", wts["a"], "--gate", "true", "--package", "P")
    r.dispatch("b", "b", wts["b"])
    r.dispatch("c", "c", wts["c"])
    r.dispatch("d1", "d1", wts["d1"])
    r.git("merge", "-q", "--no-edit", "d1")  # after the dispatch: its base is before the commit, so git shows it merged
    r.dispatch("d2", "d2", wts["d2"])
    return wts


def plant(r, t: Traps, wts: dict) -> None:
    git_dir = Path(os.path.realpath(r.root / ".git"))
    r.git("config", "extensions.worktreeConfig", "true")
    # an includeIf for the integration checkout, then an include.path, then the shared config's own traps
    write_config(git_dir / "config", f'[includeIf "gitdir:{git_dir}"]\n\tpath = {r.base}/incif-root\n'
                 f"[include]\n\tpath = {r.base}/inc-shared\n")
    write_config(r.base / "incif-root", filter_section(t, "froot") +
                 f'[merge "mroot"]\n\tdriver = {t.cmd("merge-mroot")}\n')
    write_config(r.base / "inc-shared", filter_section(t, "finc") +
                 f'[merge "minc"]\n\tdriver = {t.cmd("merge-minc")}\n'
                 f'[diff "dinc"]\n\ttextconv = {t.cmd("textconv-dinc", CAT_ARG)}\n')
    write_config(r.base / "incif-b", f"[core]\n\tfsmonitor = {t.cmd('fsmonitor-includeif')}\n" +
                 filter_section(t, "fifb"))
    write_config(git_dir / "config", f"[core]\n\tfsmonitor = {t.cmd('fsmonitor-shared')}\n"
                 f"\tpager = {t.cmd('pager', 'cat')}\n\teditor = {t.cmd('editor')}\n"
                 f"\tsshCommand = {t.cmd('ssh')}\n\taskPass = {t.cmd('askpass')}\n"
                 f"\talternateRefsCommand = {t.cmd('alternate-refs')}\n"
                 f"[sequence]\n\teditor = {t.cmd('sequence-editor')}\n"
                 f"[pager]\n\tstatus = {t.cmd('pager-status', 'cat')}\n\tlog = {t.cmd('pager-log', 'cat')}\n"
                 f"\tdiff = {t.cmd('pager-diff', 'cat')}\n"
                 f"[diff]\n\texternal = {t.cmd('diff-external', 'exit 0')}\n\tsubmodule = diff\n"
                 f'[diff "dshared"]\n\tcommand = {t.cmd("diff-command", "exit 0")}\n'
                 f"\ttextconv = {t.cmd('textconv-dshared', CAT_ARG)}\n"
                 f'[merge "mshared"]\n\tdriver = {t.cmd("merge-mshared")}\n\tname = trap\n'
                 f"[credential]\n\thelper = !{t.cmd('credential')}\n"
                 f"[gpg]\n\tprogram = {t.cmd('gpg')}\n[log]\n\tshowSignature = true\n"
                 f"[commit]\n\tgpgSign = true\n[gc]\n\tauto = 1\n\tautoDetach = false\n"
                 f"[status]\n\tsubmoduleSummary = true\n[submodule]\n\trecurse = true\n"
                 f"[alias]\n\tstatus = !{t.cmd('alias')}\n"
                 f'[remote "origin"]\n\turl = ssh://trap.invalid/x\n\tuploadpack = {t.cmd("uploadpack")}\n'
                 f"\treceivepack = {t.cmd('receivepack')}\n\tfetch = +refs/heads/*:refs/remotes/origin/*\n"
                 f"[protocol]\n\tallow = always\n" +
                 filter_section(t, "fshared") + filter_section(t, "fproc", process=True) +
                 f'[includeIf "gitdir:{git_dir}/worktrees/b"]\n\tpath = {r.base}/incif-b\n')
    hooks(git_dir / "hooks", t, "dotgit")
    # the worktrees' own configuration: a's config.worktree; c's config.worktree includes a file
    write_config(git_dir / "worktrees" / "a" / "config.worktree",
                 f"[core]\n\tfsmonitor = {t.cmd('fsmonitor-worktree')}\n" + filter_section(t, "fwt"))
    write_config(git_dir / "worktrees" / "c" / "config.worktree", f"[include]\n\tpath = {r.base}/inc-c\n")
    write_config(r.base / "inc-c", f"[core]\n\tfsmonitor = {t.cmd('fsmonitor-include')}\n" +
                 filter_section(t, "fincc"))
    write_config(git_dir / "worktrees" / "d1" / "config.worktree",
                 f"[core]\n\tfsmonitor = {t.cmd('fsmonitor-d1')}\n" + filter_section(t, "fd1"))
    # a submodule's own configuration and a repository nested inside a worktree
    write_config(git_dir / "worktrees" / "a" / "modules" / "sub" / "config",
                 f"[core]\n\tfsmonitor = {t.cmd('fsmonitor-submodule')}\n")
    write_config(wts["b"] / "nested" / ".git" / "config", f"[core]\n\tfsmonitor = {t.cmd('fsmonitor-nested')}\n")
    for where in [r.root, *wts.values()]:
        stale(*[p for p in Path(where).glob("[fz].f?")])


def armed(r, t: Traps, wts: dict) -> set[str]:
    """What plain git leaves behind doing what orch does: every trap must be live, else the test proves nothing."""
    for where in [r.root, *wts.values()]:
        raw(r, where, "status", "--porcelain=v2")
    tmp = r.base / "merge-objects"
    tmp.mkdir()
    raw(r, r.root, "merge-tree", "--write-tree", "main", "a")
    raw(r, r.root, "diff", "main~1", "a")
    raw(r, r.root, "diff", "--no-ext-diff", "main~1", "a")
    raw(r, r.root, "log", "-1", "a")
    raw(r, r.root, "ls-remote", "origin")
    raw(r, r.root, "branch", "trap-probe")
    raw(r, r.root, "branch", "-D", "trap-probe")
    seen = t.seen()
    t.clear()
    for where in [r.root, *wts.values()]:  # plain git status refreshed nothing (--no-optional-locks); to be sure
        stale(*[p for p in Path(where).glob("[fz].f?")])
    return seen


def test_no_configured_program_runs_in_any_orch_command(repo):
    r = repo
    t = Traps(r.base)
    wts = build(r, t)
    plant(r, t, wts)
    live = armed(r, t, wts)
    expected = {"fsmonitor-shared", "fsmonitor-worktree", "fsmonitor-includeif", "fsmonitor-include",
                "fsmonitor-d1", "fsmonitor-submodule", "fsmonitor-nested", "filter-fshared", "filter-fproc",
                "filter-finc", "filter-froot", "filter-fwt", "filter-fifb", "filter-fincc", "filter-fd1",
                "merge-mshared", "merge-minc", "merge-mroot", "diff-command", "diff-external", "textconv-dinc",
                "textconv-dshared",
                "gpg", "ssh", "hook-dotgit-reference-transaction"}
    assert expected <= live, f"traps not armed: {sorted(expected - live)}"

    r.orch("tick")
    r.orch("status")
    r.orch("review", "a", "--run-gates")
    r.orch("review", "b", check=False)
    r.orch("doctor", check=False)
    r.orch("sessions")
    r.orch("dispatch", "e", "--branch", "e", "--worktree", wts["e"])
    r.orch("package", "pack", "P", "--out", r.base / "pack", check=False)
    r.orch("package", "accept", "P", check=False)
    r.orch("task", "set", "d1", "merged")
    r.orch("tick")
    r.orch("cleanup")
    r.orch("cleanup", "--apply")
    assert t.seen() == set(), "ran: " + ", ".join(sorted(t.seen()))
    assert not wts["d1"].exists(), "cleanup removed the decided worktree (through the guard)"

    # now with core.hooksPath: a hooks folder of the worker's choosing
    hooks(r.base / "worker-hooks", t, "hookspath")
    r.git("config", "core.hooksPath", str(r.base / "worker-hooks"))
    raw(r, r.root, "branch", "trap-probe")
    raw(r, r.root, "branch", "-D", "trap-probe")
    assert "hook-hookspath-reference-transaction" in t.seen()
    t.clear()
    r.orch("task", "set", "d2", "rejected")
    r.orch("cleanup", "--apply", "--force", "d2")
    assert t.seen() == set(), "ran: " + ", ".join(sorted(t.seen()))
    assert r.git("branch", "--list", "d2") == ""


def test_a_filter_orch_does_not_run_is_reported_not_counted_as_a_change(repo):
    r = repo
    r.git("config", "filter.lower.clean", "tr a-z A-Z")  # stored upper case, checked out lower case (like LFS)
    r.git("config", "filter.lower.smudge", "tr A-Z a-z")
    r.write(r.root, ".gitattributes", "*.dat filter=lower\n")
    r.write(r.root, "x.dat", "hello\n")
    r.git("add", "-A")
    r.git("commit", "-qm", "filtered file")
    wt = r.worktree("w")
    assert (wt / "x.dat").read_text() == "hello\n"
    r.dispatch("w", "w", wt)
    stale(wt / "x.dat")  # git must read it again; without the filter its bytes differ from what git stored
    r.orch("tick")
    task = next(t for t in r.report_json()["tasks"] if t["id"] == "w")
    codes = {e["code"]: e["text"] for e in task["evidence"]}
    assert "dirty" not in codes and "filter-not-run" in codes
    assert "1 file(s) use the filter lower" in codes["filter-not-run"]
    item = next(i for i in r.orch_json("review", "w")["items"] if i["id"] == "worktree-clean")
    assert item["status"] == "warn" and "filter lower" in item["detail"] and item["lines"] == ["x.dat"]


def test_odd_driver_names_and_nested_includes_are_switched_off_too(bare_repo, monkeypatch):
    """Names git accepts but `-c name=value` cannot carry (a `=` or dots), an include inside an include (relative
    paths), an includeIf whose condition does not hold today: all switched off, nothing runs."""
    from orchestrator.system.gitrun import run_git

    r = bare_repo
    t = Traps(r.base)
    names = ["a=b.c", "Mixed.Case", "inc-inner", "cond"]
    r.write(r.root, ".gitattributes", "".join(f"*.x{i} filter={n}\n" for i, n in enumerate(names)))
    for i in range(len(names)):
        r.write(r.root, f"f.x{i}", f"file {i}\n")
    r.git("add", "-A")
    r.git("commit", "-qm", "attributes")
    (r.base / "conf").mkdir()
    write_config(r.base / "conf" / "outer", "[include]\n\tpath = inner\n")  # relative to the including file
    write_config(r.base / "conf" / "inner", filter_section(t, "inc-inner"))
    write_config(r.base / "conf" / "cond", filter_section(t, "cond"))
    write_config(r.root / ".git" / "config", filter_section(t, "a=b.c") + filter_section(t, "Mixed.Case") +
                 f"[include]\n\tpath = {r.base}/conf/outer\n"
                 f'[includeIf "onbranch:later"]\n\tpath = {r.base}/conf/cond\n')
    r.git("branch", "later")
    stale(*r.root.glob("f.x*"))
    raw(r, r.root, "status", "--porcelain")
    assert {"filter-a=b.c", "filter-Mixed.Case", "filter-inc-inner"} <= t.seen()  # armed
    t.clear()
    stale(*r.root.glob("f.x*"))
    for key, value in r.env.items():
        monkeypatch.setenv(key, value)
    res = run_git(r.root, "status", "--porcelain=v2", "-z")
    assert res.ok and res.stdout == b"", res.stderr
    assert set(res.filters) >= {"a=b.c", "Mixed.Case", "inc-inner", "cond"}
    r.git("-c", "core.hooksPath=/dev/null", "symbolic-ref", "HEAD", "refs/heads/later")  # now the includeIf holds
    stale(*r.root.glob("f.x*"))
    raw(r, r.root, "status", "--porcelain")
    assert "filter-cond" in t.seen()
    t.clear()
    stale(*r.root.glob("f.x*"))
    res = run_git(r.root, "status", "--porcelain=v2", "-z")
    assert res.ok and res.stdout == b"" and t.seen() == set()
