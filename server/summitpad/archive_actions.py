"""The action items of a pad: what its notes say somebody has to do.

A line is an action item if it is a checklist item (Quill's line format `list: "checked"` or
`"unchecked"`: done or open), or if it holds the word `#action` (in any case) or `ACTION:`.
Lines are counted from 1, as the archive's pages number them (`#L<n>`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from .pad_export import PadContent

# "#action" as a word, in any case; "ACTION:" in capitals, not inside a word ("REACTION:").
_TAGGED = re.compile(r"(?i:(?<![\w#])#action(?!\w))|(?<!\w)ACTION:")


class ActionState(StrEnum):
    DONE = "done"  # a checked checklist item
    OPEN = "open"  # an unchecked checklist item
    NOTED = "noted"  # a line marked #action or ACTION:, with no checkbox


@dataclass(frozen=True, slots=True)
class ActionItem:
    line: int  # 1-based
    text: str
    state: ActionState


def action_items(content: PadContent) -> list[ActionItem]:
    """The pad's action items, in the order of its lines."""
    items = []
    for number, line in enumerate(content.lines, 1):
        text = line.text.strip()
        listed = line.format.get("list")
        if listed in ("checked", "unchecked"):
            state = ActionState.DONE if listed == "checked" else ActionState.OPEN
        elif _TAGGED.search(text):
            state = ActionState.NOTED
        else:
            continue
        if text:
            items.append(ActionItem(number, text, state))
    return items
