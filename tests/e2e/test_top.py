"""``gs-ctl top`` in a real terminal (tmux): it draws, refreshes, and quits on q."""

from __future__ import annotations

import os
import shlex
import subprocess
from typing import TYPE_CHECKING

import pytest

from gophership.testing.daemon import GS_CTL, send_tcp, wait_until

if TYPE_CHECKING:
    from collections.abc import Iterator

    from gophership.testing.daemon import Daemon

pytestmark = pytest.mark.e2e


class Tmux:
    """A private tmux server (its own socket name), so tests never touch the user's."""

    def __init__(self) -> None:
        self.name = f"gs-top-{os.getpid()}"

    def __call__(self, *args: str) -> str:
        proc = subprocess.run(
            ["tmux", "-L", self.name, *args],
            capture_output=True,
            text=True,
            timeout=30,
            check=True,
        )
        return proc.stdout

    def screen(self) -> str:
        return self("capture-pane", "-p", "-t", "top")


@pytest.fixture
def tmux() -> Iterator[Tmux]:
    t = Tmux()
    yield t
    subprocess.run(
        ["tmux", "-L", t.name, "kill-server"],
        capture_output=True,
        timeout=30,
        check=False,
    )


def test_top_draws_updates_and_quits_on_q(gs: Daemon, tmux: Tmux) -> None:
    top = shlex.join([GS_CTL, "top", "--socket", gs.control, "--interval", "0.3"])
    # after top exits, the shell prints its status and waits, so the pane stays readable
    tmux(
        "new-session", "-d", "-s", "top", "-x", "100", "-y", "45",
        f"{top}; echo top-exited-$?; read _",
    )  # fmt: skip
    wait_until(tmux.screen, lambda s: "zone" in s and "GREEN" in s, 30, "the dashboard")
    assert "0 / 0" in tmux.screen()  # lines green/red before any traffic
    send_tcp(gs.addr("app"), b"".join(b'{"msg":"t%d"}\n' % i for i in range(7)))
    wait_until(tmux.screen, lambda s: "7 / 0" in s, 30, "the refreshed line count")
    tmux("send-keys", "-t", "top", "q")
    screen = wait_until(tmux.screen, lambda s: "top-exited-" in s, 30, "top to exit")
    assert "top-exited-0" in screen


def test_top_quits_on_ctrl_c(gs: Daemon, tmux: Tmux) -> None:
    top = shlex.join([GS_CTL, "top", "--socket", gs.control])
    tmux(
        "new-session", "-d", "-s", "top", "-x", "100", "-y", "45",
        f"{top}; echo top-exited-$?; read _",
    )  # fmt: skip
    wait_until(tmux.screen, lambda s: "GREEN" in s, 30, "the dashboard")
    tmux("send-keys", "-t", "top", "C-c")
    screen = wait_until(tmux.screen, lambda s: "top-exited-" in s, 30, "top to exit")
    assert "top-exited-0" in screen
