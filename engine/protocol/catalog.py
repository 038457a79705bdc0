"""Every event, command and value that may cross a process boundary, with its version.

Adding a type is one line here; tests/test_protocol.py fails for any Event or Command subclass that is missing.
"""

from ..commands import (
    CancelRangeTest,
    EditSchedule,
    MeasureCurvature,
    Pause,
    Resume,
    RollBack,
    SetCurvatureCadence,
    StartRangeTest,
    Stop,
)
from ..events import (
    CheckpointSaved,
    CommandApplied,
    CurvatureMeasured,
    EditRefused,
    EpochEnded,
    FaultRaised,
    HealthLogged,
    LogLine,
    RangeTestFinished,
    RangeTestProgress,
    RangeTestStarted,
    RolledBack,
    RunStarted,
    ScheduleChanged,
    StabilityWarning,
    StateChanged,
    StepsLogged,
    StoreFailed,
    StoreRecovered,
    TuneFinished,
    TuneIntervalChosen,
    TuneStarted,
    TuneTrialFinished,
    TuneTrialReported,
    TuneTrialStarted,
)
from ..range_test.result import RangeTestResult
from ..range_test.settings import RangeTestSettings
from ..range_test.suggestions import Recommendation, Suggestion
from ..schedules.edits import (
    ChangeSegment,
    LoggedEdit,
    Redo,
    ReplaceRest,
    ReplaceRestWithPlan,
    Restretch,
    Revise,
    ScaleRest,
    SetConstant,
    SetGroups,
    SetPeak,
    Undo,
    Unfreeze,
)
from ..schedules.groups import GroupSetting
from .messages import register

# Events
register(RunStarted, 1)
register(StepsLogged, 1)
register(EpochEnded, 1)
register(ScheduleChanged, 1)
register(EditRefused, 2)  # 2: the source of a refused remote edit
register(CommandApplied, 1)
register(StateChanged, 2)  # 2: the fault a run ended on (ran to its end on damaged weights, or stopped by a fault)
register(FaultRaised, 1)
register(RolledBack, 1)
register(RangeTestStarted, 1)
register(RangeTestProgress, 1)
register(RangeTestFinished, 1)
register(CheckpointSaved, 1)
register(LogLine, 1)
register(StoreFailed, 1)
register(StoreRecovered, 1)
register(CurvatureMeasured, 1)
register(HealthLogged, 1)
register(StabilityWarning, 1)
register(TuneStarted, 1)
register(TuneIntervalChosen, 1)
register(TuneTrialStarted, 1)
register(TuneTrialReported, 1)
register(TuneTrialFinished, 1)
register(TuneFinished, 1)

# Commands
register(Pause, 1)
register(Resume, 1)
register(Stop, 2)  # 2: the fault a fault policy's stop answers
register(EditSchedule, 1)
register(StartRangeTest, 1)
register(CancelRangeTest, 1)
register(RollBack, 1)
register(MeasureCurvature, 1)
register(SetCurvatureCadence, 1)

# Values inside them
for edit in (ReplaceRest, ReplaceRestWithPlan, ChangeSegment, Revise, ScaleRest, SetPeak, SetConstant, Restretch, SetGroups, Unfreeze, Undo, Redo,
             LoggedEdit):
    register(edit, 1)
register(GroupSetting, 1)
register(RangeTestSettings, 1)
register(RangeTestResult, 1)
register(Suggestion, 1)
register(Recommendation, 1)
