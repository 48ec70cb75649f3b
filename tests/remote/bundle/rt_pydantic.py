"""A task whose input and output are pydantic models (imported only when pydantic is installed)."""

from __future__ import annotations

import pydantic

import union


class Item(pydantic.BaseModel):
    name: str
    tags: list[str] = []
    price: float | None = None


@union.task
def tag(item: Item, extra: str) -> Item:
    return Item(name=item.name, tags=[*item.tags, extra], price=item.price)
