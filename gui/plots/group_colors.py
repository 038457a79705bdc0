"""The colour of each parameter group, the same in every plot that draws groups: the LR plot and the Health tab drew the
head orange in one and pink in the other (helper-128)."""

from __future__ import annotations

ORANGE = (255, 127, 14)  # the head's, lrscope's own
# The groups before the head, input side first. No red (the stability bound's) and no purple (the editor preview's): a
# model's third group and the bound were one red, told apart by their dashes alone.
GROUP_COLORS = ((31, 119, 180), (44, 160, 44), (140, 86, 75), (227, 119, 194), (23, 190, 207), (188, 189, 34))


def group_color(index: int, name: str) -> tuple[int, int, int]:
    """The colour of parameter group ``name`` (the ``index``-th from the input)."""
    return ORANGE if name == "head" else GROUP_COLORS[index % len(GROUP_COLORS)]
