"""A short, seeded smoke of every fuzz target (``make fuzz`` runs the million-input pass).

Each target takes its real seed frames and files, then seeded random mutations of them (bytes
flipped, inserted, cut), as plain function calls: any contract break raises ``FuzzBug``.
"""

from __future__ import annotations

import random

import pytest

from tests.fuzz import targets as t

MUTATIONS = 120
SEED = 12


def mutate(rng: random.Random, seed: bytes) -> bytes:
    """One libFuzzer-like mutation: flip, insert, erase or truncate a few bytes."""
    data = bytearray(seed)
    for _ in range(rng.randint(1, 4)):
        how = rng.randrange(4)
        k = rng.randrange(len(data) + 1)
        if how == 0 and data:
            data[min(k, len(data) - 1)] = rng.randrange(256)
        elif how == 1:
            data[k:k] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 8)))
        elif how == 2:
            del data[k : k + rng.randint(1, 16)]
        else:
            del data[k:]
    return bytes(data)


@pytest.fixture(autouse=True, scope="module")
def _quiet():
    with t.quiet():  # restored after: other tests in this worker read the loggers' output
        yield


@pytest.mark.parametrize("name", list(t.targets()))
def test_target_takes_seeds_and_mutations(name: str) -> None:
    target = t.targets()[name]
    one_input = target.make()
    seeds = target.seeds()
    assert seeds, "a target needs seed inputs"
    rng = random.Random(f"{SEED}-{name}")
    for seed in seeds[:MUTATIONS]:
        one_input(seed)
    for _ in range(MUTATIONS):
        one_input(mutate(rng, rng.choice(seeds)))
