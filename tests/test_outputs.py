"""Output files and the command line's own texts: atomic writes only to
regular files, output paths checked before any work, counterexample names
that identify the configuration, internal-error.txt under --out, help for
every option, --version, an unknown command."""

from __future__ import annotations

import os
import stat
import threading
import time
from pathlib import Path

import pytest
from conftest import run_cli

from checker import cli
from checker.app import check as check_command
from checker.files import write_atomically
from checker.views.itf import read_trace

BUG = ("--cores", "1", "--workload", "syscall-heavy", "--mutation", "exitsyscall-drops-g",
       "--depth", "11", "--quiet", "--property", "no-lost-g")  # fmt: skip


def test_a_device_or_fifo_is_written_in_place_never_replaced(tmp_path):
    before = os.stat("/dev/null")
    write_atomically(Path("/dev/null"), "<html></html>")
    after = os.stat("/dev/null")
    assert stat.S_ISCHR(after.st_mode) and after.st_rdev == before.st_rdev
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    got: list[bytes] = []
    reader = threading.Thread(target=lambda: got.append(fifo.read_bytes()))
    reader.start()
    write_atomically(fifo, "through the pipe\n")
    reader.join(timeout=10)
    assert got == [b"through the pipe\n"] and stat.S_ISFIFO(os.stat(fifo).st_mode)
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


def test_view_html_to_dev_null_keeps_dev_null(tmp_path):
    code, _, err = run_cli(*BUG, "--out", str(tmp_path))
    assert code == 1, err
    (trace,) = tmp_path.glob("*.itf.json")
    code, _, err = run_cli("view", str(trace), "--html", "/dev/null")
    assert code == 0, err
    assert stat.S_ISCHR(os.stat("/dev/null").st_mode)


@pytest.mark.parametrize(
    "make, flag, needle",
    [
        (lambda d: (d / "file").write_text("x") and d / "file" / "sub", "--out", "not a directory"),
        (lambda d: (d / "dl").symlink_to(d / "nowhere") or d / "dl", "--out", "dangling"),
        (lambda d: d / ("n" * 300), "--out", "longer than 255 bytes"),
        (lambda d: Path("/proc/gmpcheck-out"), "--out", "cannot write in /proc"),
        (lambda d: d, "--graph", "is a directory"),
        (lambda d: (d / "dl2").symlink_to(d / "none.dot") or d / "dl2", "--graph", "dangling"),
        (lambda d: d / "missing-dir" / "x" / ("n" * 300 + ".dot"), "--graph", "255 bytes"),
    ],
)
def test_a_bad_output_path_is_refused_before_any_work(tmp_path, make, flag, needle):
    target = make(tmp_path)
    start = time.monotonic()
    code, out, err = run_cli("--cores", "4", "--depth", "12", flag, str(target), "--quiet")
    assert code == 2 and out == "" and needle in err, err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert time.monotonic() - start < 20  # refused up front, not after the search


def test_runs_of_different_configurations_write_different_files(tmp_path):
    names = set()
    for extra in (
        (),
        ("--ring", "4"),
        ("--period", "7"),
        ("--max-ms", "4"),
        ("--profile", "go1.26"),
    ):
        code, out, err = run_cli(*BUG, *extra, "--out", str(tmp_path))
        assert code == 1, err
        line = next(ln for ln in out.splitlines() if "-> " in ln)
        names.add(line.split("-> ")[1])
    assert len(names) == 5 and len(list(tmp_path.glob("*.itf.json"))) == 5
    assert str(tmp_path / "no-lost-g-syscall-heavy-c1-exitsyscall-drops-g.itf.json") in names
    for n in names:
        read_trace(n)


def test_an_internal_error_is_kept_under_out_and_never_follows_a_link(
    tmp_path, monkeypatch, capsys
):
    out = tmp_path / "out"
    out.mkdir()
    victim = tmp_path / "victim.txt"
    victim.write_text("precious")
    (out / "internal-error.txt").symlink_to(victim)

    def boom(args):
        raise RuntimeError("a bug")

    monkeypatch.setattr(check_command, "cmd_check", boom)
    code = cli.main(["--cores", "1", "--out", str(out)])
    err = capsys.readouterr().err
    assert code == 70 and "internal error: RuntimeError: a bug" in err
    assert f"details in {out / 'internal-error.txt'}" in err
    assert victim.read_text() == "precious"
    kept = out / "internal-error.txt"
    assert not kept.is_symlink() and "RuntimeError: a bug" in kept.read_text()


def test_every_option_has_help_and_the_top_level_names_the_version():
    parser = cli.build_parser()
    sub = next(a for a in parser._actions if a.__class__.__name__ == "_SubParsersAction")
    missing = []
    for name, p in sub.choices.items():
        for a in p._actions:
            if a.option_strings and a.dest != "help" and not a.help:
                missing.append(f"{name} {a.option_strings[0]}")
    assert missing == []
    code, out, _ = run_cli("--version")
    assert code == 0 and out.strip() == "gmpcheck 0.1.0"
    code, out, _ = run_cli("check", "--help")
    from specs.liveness import FAIRNESS

    flat = " ".join(out.split())
    for name in FAIRNESS:
        assert f"{name}:" in flat, name
    assert "--strict" in out


def test_an_unknown_command_names_the_commands():
    code, out, err = run_cli("chek", "--cores", "2")
    assert code == 2 and out == ""
    assert err.strip() == (
        "error: unknown command 'chek' (commands: check, list, view, gate, bench, replay, "
        "record, prove, conform)"
    )


def test_a_truncated_dump_is_partial_not_conforming(tmp_path):
    from conftest import ROOT

    src = (ROOT / "tests" / "conform" / "traces" / "spawn-p3.parsed.txt").read_text()
    lines = src.splitlines(keepends=True)
    cut = tmp_path / "cut.parsed.txt"
    cut.write_text("".join(lines[: len(lines) // 2]))
    code, out, err = run_cli("conform", "--trace", str(cut))
    assert code == 4, out + err
    assert "truncated" in out and "conforms:" not in out


def test_a_plugin_name_that_is_not_a_file_name_is_refused(tmp_path):
    f = tmp_path / "bad.py"
    f.write_text(
        "from model.gmp import GMPModel\nclass Bad(GMPModel):\n    mutation_name = '../../etc/x'\n"
    )
    code, _, err = run_cli("--model", f"{f}:Bad", "--cores", "1", "--depth", "2")
    assert code == 2 and "mutation_name '../../etc/x'" in err


def test_conform_refuses_a_timeout_that_is_not_a_number_of_seconds():
    for bad in ("nan", "inf", "-1", "0"):
        code, _, err = run_cli("conform", "x.go", "--timeout", bad)
        assert code == 2 and "--timeout" in err, (bad, err)
