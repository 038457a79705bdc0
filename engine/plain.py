"""Plain data: what JSON holds (dicts with string keys, lists, strings, numbers, booleans, None).

A field typed ``JsonObject`` carries only such data, never an engine object; the protocol checks it.
"""

from typing import NewType

JsonObject = NewType("JsonObject", dict)
