"""The recall-oriented slider: target <-> threshold from the calibration, panel mirroring, FAR mode."""

from __future__ import annotations

import math
from unittest.mock import MagicMock

import numpy as np
import pytest

from app.controllers.threshold import FAR, NONE, RECALL, ThresholdController, ThresholdLogic
from app.views.threshold_panel import ThresholdPanel
from engine.calibration import Calibration, calibrate

RNG = np.random.default_rng(0)
NORMAL_SCANS = RNG.normal(0, 1, 200)
THREAT_SCANS = RNG.normal(3, 1, 50)


def threat_cal() -> Calibration:
    base = Calibration.normal_only(RNG.normal(0, 1, 1000), NORMAL_SCANS)
    return calibrate(THREAT_SCANS, NORMAL_SCANS, 0.9, previous=base)


def test_recall_mode_maps_target_recall_to_calibrated_threshold() -> None:
    cal = threat_cal()
    logic = ThresholdLogic(cal)
    assert logic.mode == RECALL and logic.initial == pytest.approx(0.9)
    points = [logic.at(r) for r in (0.6, 0.8, 0.95, 1.0)]
    for p in points:
        assert p.threshold == cal.threshold_for_recall(p.target)
        assert p.far == cal.far_at(p.threshold) and p.recall >= p.target - 1e-9
    ts = [p.threshold for p in points]
    assert ts == sorted(ts, reverse=True)  # more recall, lower threshold, more false alarms
    assert [p.far for p in points] == sorted(p.far for p in points)


def test_without_threats_the_slider_sets_the_far_operating_point() -> None:
    cal = Calibration.normal_only(RNG.normal(0, 1, 500), NORMAL_SCANS)
    logic = ThresholdLogic(cal)
    assert logic.mode == FAR and "No threat calibration" in logic.note and "false-alarm" in logic.note
    p = logic.at(0.1)
    assert p.threshold == cal.threshold_for_far(0.1) and p.far <= 0.1 and math.isnan(p.recall)
    assert logic.initial == pytest.approx(cal.far_at(cal.threshold))
    none = ThresholdLogic(None).at(0.5)
    assert none.mode == NONE and none.threshold == math.inf


def test_controller_emits_threshold_and_updates_a_mocked_panel() -> None:
    panel = MagicMock()
    ctl = ThresholdController(panel)
    seen: list[float] = []
    ctl.threshold_changed.connect(seen.append)
    cal = threat_cal()
    ctl.set_calibration(cal)
    panel.configure.assert_called_with(RECALL, 0.5, 1.0, ctl.logic.note)
    assert seen[-1] == cal.threshold_for_recall(0.9)
    ctl.set_target(0.99)
    assert seen[-1] == cal.threshold_for_recall(0.99) and ctl.threshold == seen[-1]
    panel.set_target.assert_called_with(0.99)
    ctl.set_counts(3, 5, 7)
    point, *counts = panel.set_readout.call_args.args
    assert point.target == 0.99 and counts == [3, 5, 7]
    n = len(seen)
    ctl.set_target(0.99)  # no change, no signal
    assert len(seen) == n


def test_panel_slider_and_numeric_field_mirror_each_other(qtbot) -> None:
    panel = ThresholdPanel()
    qtbot.addWidget(panel)
    ctl = ThresholdController(panel)
    panel.target_changed.connect(ctl.set_target)
    cal = threat_cal()
    ctl.set_calibration(cal)
    assert panel.isEnabled() and panel.caption.text() == "Target recall"
    assert panel.spin.value() == pytest.approx(90.0)
    with qtbot.waitSignal(ctl.threshold_changed) as sig:
        panel.slider.setValue(panel.slider.maximum())  # recall 100 %
    assert sig.args[0] == cal.threshold_for_recall(1.0)
    assert panel.spin.value() == pytest.approx(100.0)
    panel.spin.setValue(70.0)
    assert panel.slider.value() == round((0.7 - 0.5) / 0.5 * 1000)
    assert panel.threshold_label.text() == f"{cal.threshold_for_recall(0.7):.3f}"
    assert panel.far_label.text().endswith("of clear bags")
    ctl.set_counts(2, 4, 6)
    assert panel.flagged_label.text().startswith("2 / 4")
    ctl.set_calibration(Calibration.normal_only(RNG.normal(0, 1, 100), NORMAL_SCANS))
    assert panel.caption.text().startswith("Target false-alarm") and not panel.recall_label.isVisibleTo(panel)
    assert "No threat calibration" in panel.note.text()
