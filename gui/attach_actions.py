"""The window's actions on runs served elsewhere: attach to one, detach from it; and what closing may stop."""

from __future__ import annotations

from PySide6.QtCore import Slot

from engine.errors import RunStoreError
from engine.serve.access import Access, ServeError, access_for
from engine.serve.wire import tcp_address
from engine.store.paths import runs_root
from engine.store.reader import find_run

from . import dialogs


class AttachActions:
    """Mixed into MainWindow: uses its controller, live run, tabs, log and warnings."""

    @Slot()
    def attach_to_run(self) -> None:
        """Ask which served run to follow (a folder, or an address and token), then follow it."""
        if self.controller.training:
            self.warn("Cannot attach", "A run is already shown: stop it or detach from it first.")
            return
        target = dialogs.ask_attach_target(self, self.attach_target)
        if target is not None:
            self.attach_target = target  # the dialog shows it again, if the run refuses it
            self.attach(target)

    @Slot(str)
    def attach(self, target: str | tuple[str, str]) -> bool:
        """Follow the run served from folder ``target`` or at (address, token); False after saying why it cannot be."""
        try:
            # A folder, or a run's id as `ctl` and `watch` take it (an id was "unknown and not being served").
            access = access_for(find_run(runs_root(), target), in_window=True) if isinstance(target, str) else \
                Access(tcp_address(target[0]), target[1])
        except (ServeError, RunStoreError, ValueError) as error:
            self.warn("Cannot attach", str(error))
            return False
        self.controller.attach(access)
        self.tabs.setCurrentIndex(0)
        self.log.add(f"attaching to the run at {access.address}")
        self._update_actions(starting=True)
        return True

    @Slot(object)
    def followed_run_started(self, event) -> None:
        """The Configuration tab says which settings of the run going on differ from its fields (for the window's own
        run, once one does: they are the next run's)."""
        self.config_panel.follow(event.config, own=not self.controller.attached)

    @Slot()
    def detach_from_run(self) -> None:
        """Stop following the attached run; it goes on training."""
        if self.controller.attached:
            # A paused run was said to "go on training".
            goes_on = "stays paused (Attach, then Resume, Ctrl+P, continues it)" if self.live.state == "paused" else "goes on training"
            self.controller.detach()
            # No step here: the run's steps still on their way are shown before the window lets go, and "detached at step
            # 638" was followed by "no longer following … at step 648". That line names the step, as the plots stop there.
            self.log.add(f"detaching from run {self.live.run_id}: it {goes_on}")
