"""Closing the window: the question asked first when closing would stop the window's own run or tune, withdrawn when
that work ends while it is open."""

from __future__ import annotations

from PySide6.QtCore import Slot

from . import dialogs
from .live_run import TERMINAL


class ClosingActions:
    """Mixed into MainWindow: uses its controller, live run, bridge and log."""

    asking_to_close = ""  # the title of the question closing asks, while it is open

    def close_unasked(self, why: str) -> None:
        """Close as the close button does, without asking first (a signal): the window's run stops resumable."""
        self.log.add(f"{why}: stopping the run (it stays resumable) and closing" if self.controller.training else f"{why}: closing")
        self.closing_unasked = True
        self.close()

    def may_close(self) -> bool:
        """Whether closing goes on: it stops nothing of the window's own, or the user agreed. The work goes on while the
        question is open (a question changes nothing); if it ends meanwhile, the question is withdrawn and closing goes on,
        as nothing is lost."""
        if self.closing_unasked:
            return True
        self.bridge.drain()  # the run's last events: one that has just finished is not asked about
        question = self._closing_question()
        if question is None:
            return True
        self.asking_to_close = question[0]
        try:
            agreed = dialogs.ask_yes_no(self, *question)
        finally:
            self.asking_to_close = ""
        self.bridge.drain()
        return agreed or self._closing_question() is None

    @Slot(object)
    def withdraw_close_question(self, _event=None) -> None:
        """The run or tune the open close question is about has ended: it asked "Stop the run?" over a finished run."""
        if self.asking_to_close and self._closing_question() is None:
            dialogs.dismiss(self, self.asking_to_close)

    def _closing_question(self) -> tuple[str, str, str] | None:
        """The question to ask before closing stops work of this window's own, and what each answer does (None: nothing
        would be lost). A tune was thrown away without a word, 17 epochs into its first trial."""
        if self.controller.training and not self.controller.attached and self.live.state not in TERMINAL:
            return ("Stop the run?", "Stop the run and close the window?",
                    "Yes stops the run and closes the window; the run stays resumable (Runs tab, lrscope resume). No keeps "
                    "the window open and the run training. It trains on while you decide; if it ends first, the window "
                    "closes, as nothing is lost.")
        if self.controller.tuning:
            return ("Stop the tune?", "Stop the tune and close the window?",
                    "Yes stops the trial in progress and closes the window; the trials that ended stay in the Runs tab, and "
                    "`lrscope tune --resume` can go on with the rest of the budget. No keeps the window open and the tune "
                    "going. It goes on while you decide; if it ends first, the window closes, as nothing is lost.")
        return None
