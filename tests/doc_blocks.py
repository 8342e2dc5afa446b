"""Run the documentation: every command a reader is told to type is executed by a test.

A page (README.md, docs/*.md) is read top to bottom and its fenced blocks run in order, in one
working directory, the way a reader pastes them into one terminal: ``cd`` and ``export`` carry over
from block to block. The language tag decides what happens to a block:

* ``bash``, ``sh``, ``shell``: run with ``bash -e -o pipefail``, so every line must succeed;
* ``console``: the lines after ``$ `` are run the same way, the other lines are sample output;
* ``python``: run with the virtualenv's interpreter;
* ``json``, ``yaml``, ``text``, ``toml``, ``ini``, ``promql``, ``html``: shown, not run
  (request bodies, manifests, sample output). A fence with no tag is an error.

An HTML comment on the line before a fence steers the test; readers never see it:

``<!-- doc-test: skip="why" -->``
    not run (a container engine, a cloud, a command that is the test suite itself); the reasons are
    a reviewed list (tests/unit/test_doc_blocks.py), not skipped tests.
``<!-- doc-test: background ready=URL -->``
    the block is one long-running command (a server, the operator): started in the background,
    the page goes on once ``URL`` answers 2xx, and it is stopped (SIGINT) at the next ``#`` or
    ``##`` heading, or with ``keep`` at the end of the page.
``<!-- doc-test: exit=N -->``
    the block's last command must exit with ``N`` (``--fail-on-drift`` when there is drift).
``<!-- doc-test: expect="text" -->``
    the block's output must contain ``text``.
``<!-- doc-test: timeout=S -->``
    seconds the block may take (default 300).
``<!-- doc-test: needs=program -->``
    the block runs a program that is not part of mlpy (a Pushgateway): without it the page is
    skipped with that reason, except under CI, which installs it.

A page-wide comment ``<!-- doc-test-page: kubernetes cleanup="..." -->`` runs the page against a
Kubernetes control plane (``KUBECONFIG`` set) and runs ``cleanup`` at the end whatever happened;
``kubernetes node`` against a cluster with a real node and its stores (``cluster.sh start --stores``);
``starts-node``: the page starts a real node of its own (``cluster.sh start``), so where none can run
here it is skipped with the reason (failed under CI).
"""

from __future__ import annotations

import contextlib
import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import pytest

import localk8s as cluster

REPO = Path(__file__).resolve().parents[1]
#: As in tests/conftest.py: CI installs every program the pages need, so a missing one fails there.
IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}

#: The pages whose commands are tested: what a user reads.
PAGES = (
    "README.md",
    *sorted(str(p.relative_to(REPO)) for p in (REPO / "docs").glob("*.md")),
    "scripts/k8s/README.md",
)

RUN = {"bash", "sh", "shell", "console", "python"}
SHOW = {"json", "yaml", "text", "toml", "ini", "promql", "html"}
BLOCK_KEYS = {"skip", "background", "ready", "keep", "exit", "expect", "timeout", "needs"}
PAGE_KEYS = {"kubernetes", "node", "starts-node", "cleanup"}

_FENCE = re.compile(r"^(?P<indent>\s*)(?P<fence>```+)(?P<lang>[^`\s]*)\s*$")
_DIRECTIVE = re.compile(r"^\s*<!--\s*doc-test(?P<page>-page)?:(?P<body>.*?)-->\s*$")
_HEADING = re.compile(r"^(?P<hashes>#{1,6})\s")


class DocError(AssertionError):
    """A documented command failed, or a page is not written so that it can be run."""


@dataclass(frozen=True)
class Block:
    page: str
    line: int
    lang: str
    text: str
    directives: dict[str, str]
    #: Index of the top-level section (``#`` or ``##`` heading) the block sits in.
    section: int

    @property
    def where(self) -> str:
        return f"{self.page}:{self.line}"

    @property
    def runs(self) -> bool:
        return self.lang in RUN and "skip" not in self.directives

    def script(self) -> str:
        """The shell text to run (``console`` blocks keep only their ``$`` commands)."""
        if self.lang != "console":
            return self.text
        commands: list[str] = []
        continuing = False
        for line in self.text.splitlines():
            if line.startswith("$ "):
                commands.append(line[2:])
            elif continuing:
                commands.append(line)
            else:
                continue
            continuing = line.rstrip().endswith("\\")
        return "\n".join(commands) + "\n"


@dataclass
class Page:
    path: str
    blocks: list[Block] = field(default_factory=list)
    directives: dict[str, str] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)

    @property
    def kubernetes(self) -> bool:
        return "kubernetes" in self.directives

    @property
    def node(self) -> bool:
        """The page runs pods for real: a cluster with a real node and its stores (localk8s)."""
        return "node" in self.directives

    @property
    def starts_node(self) -> bool:
        """The page's own commands start a real node (``cluster.sh start``) and expect it to join."""
        return "starts-node" in self.directives


def parse_directive(body: str) -> dict[str, str]:
    """``key`` and ``key="value"`` words, shell-quoted."""
    out: dict[str, str] = {}
    for word in shlex.split(body):
        key, _, value = word.partition("=")
        out[key] = value
    return out


def parse_page(path: str, text: str | None = None) -> Page:
    """The page's fenced blocks with their directives, and what is wrong with how they are written."""
    source = (REPO / path).read_text() if text is None else text
    page = Page(path)
    lines = source.splitlines()
    pending: dict[str, str] | None = None
    section = 0
    i = 0
    while i < len(lines):
        line = lines[i]
        directive = _DIRECTIVE.match(line)
        heading = _HEADING.match(line)
        fence = _FENCE.match(line)
        if directive:
            parsed = parse_directive(directive["body"])
            allowed = PAGE_KEYS if directive["page"] else BLOCK_KEYS
            unknown = sorted(set(parsed) - allowed)
            if unknown:
                page.problems.append(f"{path}:{i + 1}: unknown doc-test key(s) {unknown}")
            if directive["page"]:
                page.directives.update(parsed)
            else:
                pending = parsed
            i += 1
            continue
        if heading and len(heading["hashes"]) <= 2:
            section += 1
        if fence:
            indent, marker, lang = fence["indent"], fence["fence"], fence["lang"].lower()
            body: list[str] = []
            j = i + 1
            while j < len(lines) and lines[j].strip() != marker:
                body.append(lines[j][len(indent) :] if lines[j].startswith(indent) else lines[j])
                j += 1
            if j == len(lines):
                page.problems.append(f"{path}:{i + 1}: fence never closed")
            if not lang:
                page.problems.append(
                    f"{path}:{i + 1}: fence without a language (bash to run it, text to show it)"
                )
            elif lang not in RUN | SHOW:
                page.problems.append(f"{path}:{i + 1}: unknown fence language {lang!r}")
            directives = pending or {}
            if "skip" in directives and not directives["skip"].strip():
                page.problems.append(f'{path}:{i + 1}: skip needs a reason: skip="why"')
            if "background" in directives and "ready" not in directives:
                page.problems.append(f"{path}:{i + 1}: a background block needs ready=URL")
            page.blocks.append(Block(path, i + 1, lang, "\n".join(body) + "\n", directives, section))
            pending = None
            i = j + 1
            continue
        if pending is not None and line.strip():
            page.problems.append(f"{path}:{i}: a doc-test comment must sit on the line before a fence")
            pending = None
        i += 1
    return page


# --------------------------------------------------------------------------- running


@dataclass
class Background:
    block: Block
    proc: subprocess.Popen[bytes]
    log: Path
    deadline: float = 0.0
    ready: bool = False


class PageRun:
    """One reader's terminal: a working directory, an environment, and the servers left running."""

    def __init__(self, page: Page, root: Path, env: dict[str, str]) -> None:
        self.page = page
        self.root = root
        self.work = root / "work"
        self.state = root / "state.sh"
        self.env = env
        self.background: list[Background] = []
        self.transcript: list[str] = []
        self._make_workdir()

    def _make_workdir(self) -> None:
        """A directory that looks like the checkout (links to it) but keeps what commands write."""
        self.work.mkdir(parents=True)
        for entry in REPO.iterdir():
            if entry.name in {".git", ".mypy_cache", ".ruff_cache", ".pytest_cache"}:
                continue
            (self.work / entry.name).symlink_to(entry)
        self.state.write_text(f"cd {shlex.quote(str(self.work))}\n")

    # -- blocks

    def run_block(self, block: Block) -> None:
        leaving = [b.block for b in self.background if b.block.section != block.section]
        self.settle(lambda b: b in leaving)  # what a page started answers before it is stopped
        self.stop_background(lambda b: b in leaving and "keep" not in b.directives)
        if "background" in block.directives:
            self._start_background(block)
            return
        self.settle()
        timeout = float(block.directives.get("timeout", "300"))
        script_file = self.root / f"block-{block.line}.{'py' if block.lang == 'python' else 'sh'}"
        script_file.write_text(block.text if block.lang == "python" else block.script())
        if block.lang == "python":
            command = f"python {shlex.quote(str(script_file))}"
        else:
            command = f"source {shlex.quote(str(script_file))}"
        wrapper = (
            f"source {shlex.quote(str(self.state))}\n"
            f"trap '{{ export -p; echo cd \"$(pwd)\"; }} > {shlex.quote(str(self.state))}' EXIT\n"
            "set -eo pipefail\n"
            f"{command}\n"
        )
        started = time.monotonic()
        try:
            done = subprocess.run(
                ["bash", "-c", wrapper],
                env=self.env,
                cwd=self.work,
                stdin=subprocess.DEVNULL,
                capture_output=True,
                timeout=timeout,
                check=False,
            )
        except subprocess.TimeoutExpired as exc:
            raise DocError(f"{block.where}: still running after {timeout:.0f}s\n{_text(exc.stdout)}") from exc
        output = done.stdout.decode(errors="replace") + done.stderr.decode(errors="replace")
        self.transcript.append(
            f"--- {block.where} ({time.monotonic() - started:.1f}s, exit {done.returncode})\n{output}"
        )
        want = int(block.directives.get("exit", "0"))
        if done.returncode != want:
            raise DocError(
                f"{block.where}: exit {done.returncode}, the page expects {want}\n"
                f"--- block ---\n{block.text}--- output (tail) ---\n{_tail(output)}{self._background_logs()}"
            )
        expect = block.directives.get("expect")
        if expect is not None and expect not in output:
            raise DocError(f"{block.where}: output lacks {expect!r}\n--- output (tail) ---\n{_tail(output)}")

    def _start_background(self, block: Block) -> None:
        url = block.directives["ready"]
        host_port = urlsplit(url)
        if _port_taken(host_port.hostname or "127.0.0.1", host_port.port or 80):
            raise DocError(f"{block.where}: port {host_port.port} is already in use; free it to run the docs")
        log = self.root / f"background-{block.line}.log"
        command = block.script().strip()
        # exec, through env for leading VAR=value words: the command itself is our child, so the
        # parent-death signal reaches it if the test process dies before stop_background runs.
        wrapper = f"source {shlex.quote(str(self.state))}\nexec env {command}\n"
        with open(log, "wb") as out:
            proc = subprocess.Popen(
                ["bash", "-c", wrapper],
                env=self.env,
                cwd=self.work,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                preexec_fn=cluster.die_with_parent,  # its own session, killed if we die
            )
        started = Background(block, proc, log)
        started.deadline = time.monotonic() + float(block.directives.get("timeout", "180"))
        self.background.append(started)

    def settle(self, which: Callable[[Block], bool] = lambda _: True) -> None:
        """Wait until the background commands started since answer on their ``ready`` URL.

        Not at once on starting: background blocks in a row (servers a page starts one after another)
        start up together, as in a reader's several terminals; the next other block waits for them.
        """
        for running in self.background:
            if running.ready or not which(running.block):
                continue
            block, url, log = running.block, running.block.directives["ready"], running.log
            while not _answers(url):
                if running.proc.poll() is not None:
                    raise DocError(
                        f"{block.where}: exited {running.proc.returncode} before {url} answered\n"
                        f"{_tail(log.read_text())}"
                    )
                if time.monotonic() > running.deadline:
                    raise DocError(f"{block.where}: {url} did not answer in time\n{_tail(log.read_text())}")
                time.sleep(0.1)
            running.ready = True
            self.transcript.append(f"--- {block.where} serving ({url})")

    def stop_background(self, which: Callable[[Block], bool] = lambda _: True) -> None:
        """SIGINT, as a reader's Ctrl-C; then SIGTERM and SIGKILL for what does not stop."""
        stopping = [b for b in self.background if which(b.block)]
        for running in reversed(stopping):
            for sig, grace in ((signal.SIGINT, 15.0), (signal.SIGTERM, 10.0), (signal.SIGKILL, 5.0)):
                if running.proc.poll() is not None:
                    break
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(running.proc.pid, sig)
                with contextlib.suppress(subprocess.TimeoutExpired):
                    running.proc.wait(grace)
        self.background = [b for b in self.background if b not in stopping]

    def _background_logs(self) -> str:
        return "".join(
            f"\n--- {b.block.where} (background, tail) ---\n{_tail(b.log.read_text())}"
            for b in self.background
        )

    def cleanup(self) -> None:
        self.stop_background()
        command = self.page.directives.get("cleanup")
        if command:
            subprocess.run(
                ["bash", "-c", f"source {shlex.quote(str(self.state))}\n{command}"],
                env=self.env,
                cwd=self.work,
                capture_output=True,
                timeout=300,
                check=False,
            )


def reader_env(home: Path, extra: dict[str, str] | None = None) -> dict[str, str]:
    """A terminal with the virtualenv activated and the test binaries on PATH, and an empty home."""
    home.mkdir(parents=True, exist_ok=True)
    keep = {k: v for k, v in os.environ.items() if not k.startswith(("MLPY_", "PYTEST_", "KUBECONFIG"))}
    k8s_cache = cluster.cache_root()
    paths = [str(REPO / ".venv" / "bin"), str(cluster.bin_dir())]
    env = {
        **keep,
        "HOME": str(home),
        "PATH": os.pathsep.join([*paths, keep.get("PATH", "/usr/bin:/bin")]),
        "VIRTUAL_ENV": str(REPO / ".venv"),
        # The binaries scripts/k8s/build.sh made, though HOME is new (bench/operator_reconcile.py).
        "MLPY_K8S_CACHE": str(k8s_cache),
        # ...but a cluster started by hand (scripts/k8s/cluster.sh) lives in this reader's home.
        "MLPY_K8S_CLUSTER_DIR": str(home / ".cache" / "mlpy-k8s" / "cluster"),
        "PYTHONUNBUFFERED": "1",
        "NO_COLOR": "1",
        "COLUMNS": "120",
        # The reader's git identity, for the pages that commit to a GitOps repository.
        "GIT_AUTHOR_NAME": "Docs Reader",
        "GIT_AUTHOR_EMAIL": "reader@example.com",
        "GIT_COMMITTER_NAME": "Docs Reader",
        "GIT_COMMITTER_EMAIL": "reader@example.com",
    }
    env.update(extra or {})
    return env


def run_page(
    page: Page, root: Path, env: dict[str, str], before: Callable[[Block], None] | None = None
) -> list[str]:
    """Run every runnable block of the page in order; the transcript of what ran. ``before`` sees
    each block before it runs (a test checks the cluster's state at a point of the page)."""
    if page.problems:
        raise DocError("\n".join(page.problems))
    run = PageRun(page, root, env)
    try:
        for block in page.blocks:
            if block.runs:
                if before is not None:
                    if "background" not in block.directives:
                        run.settle()
                    before(block)
                started = time.monotonic()
                run.run_block(block)
                _note_time(block, time.monotonic() - started)
        run.settle()
        return run.transcript
    finally:
        run.cleanup()


def _note_time(block: Block, seconds: float) -> None:
    """With ``MLPY_DOC_TIMINGS=FILE``, append how long each block took, to find where pages spend."""
    target = os.environ.get("MLPY_DOC_TIMINGS")
    if target:
        first = block.text.strip().splitlines()[0][:70] if block.text.strip() else ""
        with open(target, "a", encoding="utf-8") as out:
            out.write(f"{seconds:8.1f}s  {block.where}  {first}\n")


def check_page(
    path: str,
    root: Path,
    extra_env: dict[str, str] | None = None,
    before: Callable[[Block], None] | None = None,
) -> None:
    """The body of a page's test: run it in ``root`` and keep its transcript; a page needing a program
    this machine lacks is skipped with the reason (failed under CI)."""
    page = parse_page(path)
    missing = missing_programs(page)
    if missing:
        message = f"{path} runs {', '.join(missing)}, which is not installed"
        if IN_CI:
            pytest.fail(f"CI must install it: {message}", pytrace=False)
        pytest.skip(message)
    transcript = run_page(page, root, reader_env(root / "home", extra_env), before)
    save_transcript(path, transcript)
    assert len(transcript) >= sum(b.runs for b in page.blocks)


def save_transcript(path: str, transcript: list[str]) -> None:
    """With ``MLPY_DOC_TRANSCRIPTS=DIR``, keep what each block printed, to read the docs' real output."""
    folder = os.environ.get("MLPY_DOC_TRANSCRIPTS")
    if folder:
        target = Path(folder) / (path.replace("/", "_") + ".txt")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text("\n".join(transcript))


def missing_programs(page: Page) -> list[str]:
    """Programs the page's blocks name with ``needs=`` that this machine lacks."""
    wanted = {b.directives["needs"] for b in page.blocks if b.runs and "needs" in b.directives}
    return sorted(program for program in wanted if shutil.which(program) is None)


def skipped_blocks() -> Iterator[Block]:
    for path in PAGES:
        for block in parse_page(path).blocks:
            if block.lang in RUN and "skip" in block.directives:
                yield block


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return bool(200 <= response.status < 300)
    except (urllib.error.URLError, OSError, ValueError):
        return False


def _port_taken(host: str, port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((host, port)) == 0


def _tail(text: str, lines: int = 40) -> str:
    return "\n".join(text.splitlines()[-lines:]) + "\n"


def _text(data: bytes | str | None) -> str:
    if data is None:
        return ""
    return data.decode(errors="replace") if isinstance(data, bytes) else data
