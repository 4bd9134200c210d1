"""Hot reload over a ConfigMap-style volume: apply, refuse invalid, refuse restart-only fields."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from bot.config.reload import ConfigWatcher, Outcome, Snapshot, diff, load_snapshot
from bot.metrics import registry as m
from tests.support.configmap import ConfigMapVolume

EXAMPLE = (
    Path(__file__).resolve().parents[3] / "strategies" / "examples" / "avellaneda_stoikov.yaml"
)


def _failures(reason: str) -> float:
    return (
        m.REGISTRY.get_sample_value("tickbot_config_reload_failures_total", {"reason": reason})
        or 0.0
    )


def _info(snapshot: Snapshot) -> float | None:
    c = snapshot.config
    return m.REGISTRY.get_sample_value(
        "tickbot_config_info", {"hash": snapshot.hash, "strategy": c.strategy.name, "mode": c.mode}
    )


@pytest.fixture
def volume(tmp_path: Path) -> ConfigMapVolume:
    return ConfigMapVolume(tmp_path / "config", {"tickbot.yaml": EXAMPLE.read_text()})


class Recorder:
    def __init__(self) -> None:
        self.applied: list[tuple[Snapshot, list[str]]] = []

    def __call__(self, snapshot: Snapshot, changed: list[str]) -> None:
        self.applied.append((snapshot, changed))


def test_the_layout_is_the_kubelets(volume: ConfigMapVolume) -> None:
    root = volume.root
    assert (root / "..data").is_symlink()
    assert (root / "tickbot.yaml").is_symlink()
    assert str((root / "tickbot.yaml").readlink()) == "..data/tickbot.yaml"
    before = (root / "..data").readlink()
    volume.update({"tickbot.yaml": EXAMPLE.read_text() + "\n# edited\n"})
    assert (root / "..data").readlink() != before
    assert not (root / before).exists()


def test_a_reloadable_change_is_applied_and_exported(volume: ConfigMapVolume) -> None:
    path = volume.path("tickbot.yaml")
    active = load_snapshot(path)
    applied = Recorder()
    watcher = ConfigWatcher(path, active, applied)
    text = EXAMPLE.read_text()
    volume.update(
        {"tickbot.yaml": text.replace("gamma_per_tick: 0.001", "gamma_per_tick: 0.002")
         .replace("max_order_lot: 10", "max_order_lot: 4")
         .replace("kill_switch: false", "kill_switch: true")}
    )  # fmt: skip
    assert watcher.check_now() is Outcome.APPLIED
    [(snapshot, changed)] = applied.applied
    assert changed == ["risk.kill_switch", "risk.max_order_lot", "strategy.params.gamma_per_tick"]
    assert snapshot.params.gamma_per_tick == 0.002
    assert snapshot.config.risk.kill_switch is True
    assert watcher.active is snapshot
    assert _info(snapshot) == 1.0
    assert _info(active) is None  # the old hash's series is gone
    assert watcher.check_now() is None  # nothing new since


def test_an_invalid_file_is_rejected_counted_and_the_old_config_stays(
    volume: ConfigMapVolume, caplog: pytest.LogCaptureFixture
) -> None:
    path = volume.path("tickbot.yaml")
    active = load_snapshot(path)
    applied = Recorder()
    watcher = ConfigWatcher(path, active, applied)
    before = _failures("invalid")
    volume.update(
        {"tickbot.yaml": EXAMPLE.read_text().replace("gamma_per_tick: 0.001", "gamma_per_tick: -3")}
    )
    with caplog.at_level(logging.ERROR, logger="bot.config.reload"):
        assert watcher.check_now() is Outcome.INVALID
    assert "strategy.params.gamma_per_tick: must be > 0, got -3" in caplog.text
    assert _failures("invalid") == before + 1
    assert watcher.active is active
    assert not applied.applied
    volume.update({"tickbot.yaml": "strategy: [unclosed"})
    assert watcher.check_now() is Outcome.INVALID
    assert _failures("invalid") == before + 2
    # the same bad content seen again (a resync of the volume) is not counted twice
    volume.update({"tickbot.yaml": "strategy: [unclosed"})
    assert watcher.check_now() is None
    assert _failures("invalid") == before + 2
    # a good file after bad ones is applied
    volume.update({"tickbot.yaml": EXAMPLE.read_text().replace("qty_lot: 2", "qty_lot: 3")})
    assert watcher.check_now() is Outcome.APPLIED
    assert applied.applied[-1][1] == ["strategy.params.qty_lot"]


@pytest.mark.parametrize(
    ("old", "new", "field"),
    [
        ("model: finite", "model: infinite", "strategy.params.model"),
        (
            "estimator_half_life_s: 600",
            "estimator_half_life_s: 60",
            "strategy.params.estimator_half_life_s",
        ),
        ("symbol: BTCUSDT", "symbol: ETHUSDT", "instruments"),
        ("entry_ms: 5", "entry_ms: 7", "backtest"),
        ("name: avellaneda_stoikov", "name: fixed_spread", "strategy.name"),
    ],
)
def test_a_restart_only_change_is_refused_whole(
    volume: ConfigMapVolume, old: str, new: str, field: str, caplog: pytest.LogCaptureFixture
) -> None:
    path = volume.path("tickbot.yaml")
    active = load_snapshot(path)
    applied = Recorder()
    watcher = ConfigWatcher(path, active, applied)
    before = _failures("restart_needed")
    text = EXAMPLE.read_text().replace("qty_lot: 2", "qty_lot: 3")  # a reloadable change too
    if field == "strategy.name":
        text = "strategy:\n  name: fixed_spread\ninstruments:" + text.split("instruments:", 1)[1]
    else:
        assert old in text
        text = text.replace(old, new)
    volume.update({"tickbot.yaml": text})
    with caplog.at_level(logging.ERROR, logger="bot.config.reload"):
        assert watcher.check_now() is Outcome.RESTART_NEEDED
    assert "restart needed" in caplog.text
    assert field in caplog.text
    assert _failures("restart_needed") == before + 1
    assert watcher.active is active
    assert not applied.applied


def test_an_apply_that_refuses_keeps_the_old_config(volume: ConfigMapVolume) -> None:
    path = volume.path("tickbot.yaml")
    active = load_snapshot(path)

    def refuse(snapshot: Snapshot, changed: list[str]) -> None:
        raise ValueError("params do not fit")

    watcher = ConfigWatcher(path, active, refuse)
    before = _failures("invalid")
    volume.update({"tickbot.yaml": EXAMPLE.read_text().replace("qty_lot: 2", "qty_lot: 3")})
    assert watcher.check_now() is Outcome.INVALID
    assert watcher.active is active
    assert _failures("invalid") == before + 1


def test_diff_names_nothing_for_a_comment_only_change(tmp_path: Path) -> None:
    a = tmp_path / "a.yaml"
    b = tmp_path / "b.yaml"
    a.write_text(EXAMPLE.read_text())
    b.write_text(EXAMPLE.read_text() + "\n# a comment\n")
    sa, sb = load_snapshot(a), load_snapshot(b)
    assert sa.hash != sb.hash
    assert diff(sa, sb) == ([], [])


async def test_the_watcher_task_sees_the_symlink_swap(volume: ConfigMapVolume) -> None:
    import asyncio

    from tests.support.asyncutil import eventually

    path = volume.path("tickbot.yaml")
    applied = Recorder()
    watcher = ConfigWatcher(path, load_snapshot(path), applied, poll_s=0.01)
    task = asyncio.create_task(watcher.run())
    try:
        volume.update({"tickbot.yaml": EXAMPLE.read_text().replace("burst: 200", "burst: 50")})
        await eventually(lambda: bool(applied.applied))
        assert applied.applied[0][1] == ["risk.burst"]
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
