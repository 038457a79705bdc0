"""LR schedules: shapes, schedules, timelines with mid-run edits, the schedule file.

Usable without lrscope's app::

    from engine.schedules import load_schedule
    scheduler = load_schedule("digits.lrschedule.json").torch_scheduler(optimizer)
    for x, y in loader:
        ...; optimizer.step(); scheduler.step()
"""

from .edits import (
    ChangeSegment,
    Edit,
    EditRecord,
    Redo,
    ReplaceRest,
    ReplaceRestWithPlan,
    Restretch,
    Revise,
    RunSchedule,
    ScaleRest,
    SetConstant,
    SetGroups,
    SetPeak,
    Undo,
    Unfreeze,
)
from .groups import ALL, GroupMismatch, GroupSetting
from .plateau import PlateauRule, PlateauTracker
from .schedule import Schedule
from .schedule_file import ScheduleFile, load_schedule, parse_schedule, save_schedule, schedule_document
from .shapes import (
    SHAPES,
    Constant,
    Cosine,
    CosineRestarts,
    Cyclic,
    Exponential,
    Keypoints,
    Linear,
    MultiStep,
    OneCycle,
    Polynomial,
    StepDecay,
)
from .timeline import Piece, Timeline

__all__ = [
    "ALL", "SHAPES", "ChangeSegment", "Constant", "Cosine", "CosineRestarts", "Cyclic", "Edit", "EditRecord", "Exponential",
    "GroupMismatch", "GroupSetting", "Keypoints", "Linear", "MultiStep", "OneCycle", "Piece", "PlateauRule", "PlateauTracker", "Polynomial",
    "ReplaceRest", "ReplaceRestWithPlan", "Restretch", "Revise", "RunSchedule", "ScaleRest", "Schedule", "ScheduleFile", "SetConstant", "SetGroups", "SetPeak", "StepDecay",
    "Redo", "Timeline", "Undo", "Unfreeze", "load_schedule", "parse_schedule", "save_schedule", "schedule_document",
]
