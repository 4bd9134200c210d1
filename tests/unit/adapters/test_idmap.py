"""The BitMEX id map: a key is found until it is removed, whatever collides with it, and the
kernels' ISO-8601 reader agrees with the Python one on the form venues send."""

from __future__ import annotations

import random

import numpy as np
import pytest

from bot.adapters.wire import idmap
from bot.adapters.wire.scalars import iso_to_ns, kernel_iso_to_ns

CAPACITY = 64
"""Small, so that probe runs wrap around the end of the table and collide often."""


def _put(table: np.ndarray, key: int, value: int) -> None:
    slot = idmap.find(table, 0, 1, key)
    assert slot < 0, f"{key} already present"
    table[0, 1, -1 - slot, idmap.KEY] = key
    table[0, 1, -1 - slot, idmap.VALUE] = value


def _get(table: np.ndarray, key: int) -> int | None:
    slot = idmap.find(table, 0, 1, key)
    return None if slot < 0 else int(table[0, 1, slot, idmap.VALUE])


def test_random_inserts_and_deletes_match_a_dict():
    rng = random.Random(8)
    table = idmap.new_idmap(1, CAPACITY)
    model: dict[int, int] = {}
    for step in range(20_000):
        if model and (len(model) >= idmap.max_live(table) or rng.random() < 0.5):
            key = rng.choice(list(model))
            idmap.remove(table, 0, 1, idmap.find(table, 0, 1, key))
            del model[key]
        else:
            key = rng.choice([rng.randrange(1 << 62), 8_796_766_500 + 50 * rng.randrange(200)])
            if key in model:
                continue
            _put(table, key, step)
            model[key] = step
        if step % 97 == 0:
            assert {k: _get(table, k) for k in model} == model
            assert (table[0, 1, :, idmap.KEY] != idmap.EMPTY).sum() == len(model)
    assert table[0, 0, :, idmap.KEY].tolist() == [idmap.EMPTY] * CAPACITY  # other side untouched


def test_clear_empties_one_book_and_capacity_must_be_a_power_of_two():
    table = idmap.new_idmap(2, CAPACITY)
    for key in range(10):
        for book in range(2):
            table[book, 0, key, idmap.KEY] = key
    idmap.clear(table, 0)
    assert (table[0, :, :, idmap.KEY] == idmap.EMPTY).all()
    assert (table[1, 0, :10, idmap.KEY] == np.arange(10)).all()
    assert idmap.grown(table).shape == (2, 2, 2 * CAPACITY, 2)
    with pytest.raises(ValueError, match="power of two"):
        idmap.new_idmap(1, 48)


ISO_TIMES = ["2021-07-22T22:36:10.087Z", "2024-02-29T00:00:00Z", "1970-01-01T00:00:00.000001Z",
             "2261-12-31T23:59:59.1234567Z"]  # fmt: skip


@pytest.mark.parametrize("text", ISO_TIMES)
def test_kernel_iso_matches_python(text):
    raw = np.frombuffer(text.encode(), dtype=np.uint8)
    assert kernel_iso_to_ns(raw, 0, raw.shape[0]) == iso_to_ns(text)


@pytest.mark.parametrize("text", ["2021-07-22T22:36:10.087", "2023-02-29T00:00:00Z",
                                  "2021-07-22 22:36:10Z", "2021-07-22T22:36:10.Z",
                                  "1969-12-31T23:59:59Z", "2021-13-01T00:00:00Z"])  # fmt: skip
def test_kernel_iso_refuses_other_forms(text):
    raw = np.frombuffer(text.encode(), dtype=np.uint8)
    assert kernel_iso_to_ns(raw, 0, raw.shape[0]) == -1
