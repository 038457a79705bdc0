"""RUN_STARTED: a fine-tune whose schedule takes the pretrained groups far above the fine-tuning default LR says so
before its first step (the rule: engine/schedules/pretrained_peak.py)."""

from __future__ import annotations

from ...schedules.pretrained_peak import pretrained_peak_warning


def warn_of_a_pretrained_peak(job, _=None) -> None:
    """Warn at the start of a fine-tune from its pretrained weights (step 0, not a resume)."""
    if job.config.pretrained and job.step == 0:
        text = pretrained_peak_warning(job.run_schedule.timeline, job.session.group_names)
        if text:
            job.log(text, "warning")
