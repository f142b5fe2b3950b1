"""TIP in the queue: a projected threat in a real bag now and then, the officer's answer, the record.

Each bag the officer reaches for the first time is drawn for TIP (one in N, see
:mod:`engine.tip_training`); so is the next bag in the list, whose composite is then
made and scored ahead like any prefetch, so a TIP bag comes up as fast as the others
and nothing on screen gives it away. The composite goes through the scoring worker
(the scorer the queue uses), under its own ``tip:`` key, and never into the queue's
items, the batch session or an export. S or C on it answers the TIP: the audit log
gets a TIP event (category, hit or miss, time to answer), a miss keeps its framed
image for review, and the officer sees the threat framed with a message. Enter then
shows the real bag underneath, which gets a normal decision.
"""

from __future__ import annotations

import dataclasses
import functools
import logging
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np
from PySide6.QtCore import QObject, Signal, Slot

from engine.data.types import THREAT
from engine.errors import EngineError
from engine.synth.tip import ThreatLibrary
from engine.tip_training import TipBag, TipConfig, TipScheduler, compose, keep_missed, load_library, plan_bag

from ..audit import Decision, finite_or_none
from ..views.tip_marker import TipMarker
from ..workers import Job
from .items import FAILED, SCORED, ScanItem
from .officer import OfficerController
from .screening import ScreeningController

log = logging.getLogger(__name__)

MISSED_DIR = "tip-missed"  # beside the audit log


class TipTrainingController(QObject):
    recorded = Signal(object)  # the TIP event written to the audit log (dict)
    changed = Signal()  # what the header shows for the bag on screen changed
    enabled_changed = Signal(bool)  # TIP switched on or off (the window hides score columns while on)

    def __init__(self, screening: ScreeningController, officer: OfficerController, marker: TipMarker,
                 seed: int | None = None) -> None:
        super().__init__()
        self.screening, self.officer, self.marker = screening, officer, marker
        self.config = TipConfig()
        self.library: ThreatLibrary | None = None
        self.rng = np.random.default_rng(seed)  # None: fresh OS entropy, so no officer can predict it
        self.scheduler = TipScheduler(self.config, self.rng)
        self.seen: set[str] = set()  # hosts already drawn for TIP
        self.pending: dict[str, TipBag] = {}  # host path -> TIP bag not yet answered
        self.results: dict[str, tuple[int, Any]] = {}  # TIP key -> (model generation, ScanResult)
        self.active: TipBag | None = None  # the TIP bag on screen
        self.outcome = ""  # "hit" / "miss" once the bag on screen is answered
        self.shown_at = 0.0
        self._n = 0
        w = screening.worker
        w.image_ready.connect(self._on_image)
        w.scored.connect(self._on_scored)
        w.failed.connect(self._on_failed)
        w.progress.connect(self._on_progress)
        screening.interceptor = self

    # -- the supervisor's settings ---------------------------------------------------------------
    def configure(self, config: TipConfig, library: ThreatLibrary | None = None) -> None:
        """Apply new settings; builds the threat library (raises EngineError when it cannot)."""
        if config.enabled and library is None:
            library = load_library(config, self.rng)
        self.config, self.library = config, library if config.enabled else None
        self.scheduler = TipScheduler(config, self.rng)
        self.pending.clear()
        self.results.clear()
        if self.active is not None:  # a TIP bag on screen under the old settings: show the real bag
            self._leave()
            self.screening.go(self.screening.current)
        self.enabled_changed.emit(config.enabled)
        log.info("TIP %s", f"on: one bag in {config.rate}, {config.library}, {', '.join(config.categories)}"
                 if config.enabled else "off")

    def configure_from(self, settings: Any, reporter: Any) -> None:
        """The stored settings at start-up; a library that cannot be built leaves TIP off, and says why."""
        config = settings.tip_config()
        try:
            self.configure(config)
        except EngineError as exc:
            reporter.engine_error("TIP training is off", config.library, getattr(exc, "reason", None) or str(exc))
            self.configure(dataclasses.replace(config, enabled=False))

    def reset(self) -> None:
        """A new list of scans: nothing drawn yet."""
        self.seen.clear()
        self.pending.clear()
        self.results.clear()
        self._leave()

    # -- the queue's hook ------------------------------------------------------------------------
    def take_over(self, item: ScanItem, gen: int) -> bool:
        """Called by the queue for the bag going on screen: True when it is a TIP bag (shown here)."""
        self._leave()
        bag = self._bag_for(item)
        if bag is not None:
            self.active = bag
            self._show(bag, gen)
        self._look_ahead(item, gen)
        return bag is not None

    def _bag_for(self, item: ScanItem) -> TipBag | None:
        if item.path in self.pending:
            return self.pending[item.path]
        if item.path in self.seen or item.decision or item.state == FAILED or self.library is None:
            return None
        self.seen.add(item.path)
        if not self.scheduler.draw():
            return None
        self._n += 1
        bag = plan_bag(self._n, item.path, self.library, self.config, self.rng)
        self.pending[item.path] = bag
        return bag

    def _job(self, bag: TipBag, gen: int) -> Job:
        assert self.library is not None
        return Job(bag.key, gen, score=self.screening.has_model, source=bag.host,
                   transform=functools.partial(compose, bag, library=self.library))

    def _show(self, bag: TipBag, gen: int) -> None:
        s = self.screening
        image = s.images.get(bag.key)
        result = self.result_of(bag)
        if image is not None:
            self._show_image(bag, image)
        else:
            s.view.clear("Loading…")
        if result is not None:
            s.view.show_result(result, s.threshold)
        if image is None or (result is None and s.has_model):
            if result is None and s.has_model:
                s.status.progress(f"Scoring {Path(bag.host).stem}…", 0, 0)
            s.worker.request(self._job(bag, gen))

    def _look_ahead(self, item: ScanItem, gen: int) -> None:
        """Draw the next bag now, and make and score its composite while the officer looks at this one."""
        rows = self.screening.list.visible_rows()
        row = self.screening.current  # the queue calls take_over for the bag it just made current
        if row not in rows or rows.index(row) + 1 >= len(rows):
            return
        nxt = self.screening.items[rows[rows.index(row) + 1]]
        bag = self._bag_for(nxt)
        if bag is not None and self.result_of(bag) is None:
            self.screening.worker.prefetch(self._job(bag, gen))

    def result_of(self, bag: TipBag) -> Any | None:
        gen, result = self.results.get(bag.key, (-1, None))
        return result if gen == self.screening.model_gen else None

    def display_item(self, item: ScanItem | None) -> ScanItem | None:
        """What the header describes: the TIP bag's own score on a TIP bag, else the item."""
        bag = self.active
        if item is None or bag is None or item.path != bag.host:
            return item
        result = self.result_of(bag)
        record = dataclasses.replace(item.record, path=bag.key)  # the view's result is keyed so
        if self.outcome:  # answered: the truth about this bag is the projected threat
            record = dataclasses.replace(record, label=THREAT, categories=(f"TIP {bag.category.lower()}",))
        return ScanItem(record, result, SCORED if result is not None else item.state)

    # -- worker answers --------------------------------------------------------------------------
    def _bag_by_key(self, key: str) -> TipBag | None:
        return next((b for b in self.pending.values() if b.key == key), None)

    @Slot(int, str, object, object, bool)
    def _on_image(self, gen: int, key: str, image: np.ndarray, meta: Any, prefetch: bool) -> None:
        bag = self._bag_by_key(key)
        if bag is None:
            return
        self.screening.images.put(key, image)
        if bag is self.active:
            self._show_image(bag, image)

    def _show_image(self, bag: TipBag, image: np.ndarray) -> None:
        view = self.screening.view
        if view.path != bag.key or view.image is None:
            self.shown_at = time.monotonic()
        view.show_image(bag.key, image)

    @Slot(int, int, str, object, bool)
    def _on_scored(self, gen: int, model_gen: int, key: str, result: Any, prefetch: bool) -> None:
        bag = self._bag_by_key(key)
        if bag is None or model_gen != self.screening.model_gen:
            return
        self.results[key] = (model_gen, result)
        if bag is self.active and not self.outcome:
            s = self.screening
            s.view.show_result(result, s.threshold)
            s.status.idle(f"{Path(bag.host).stem}: scored {len(result.scores)} patches in {result.seconds:.2f} s")
            self.changed.emit()

    @Slot(int, str, str, bool)
    def _on_failed(self, gen: int, key: str, reason: str, prefetch: bool) -> None:
        """No composite (no bag pixels to put a threat on): the bag is screened as it is."""
        bag = self._bag_by_key(key)
        if bag is None:
            return
        log.warning("TIP projection into %s failed (%s): shown without one", bag.host, reason)
        self.pending.pop(bag.host, None)
        if bag is self.active:
            self._leave()
            self.screening.go(self.screening.current)

    @Slot(int, str, int, int)
    def _on_progress(self, gen: int, key: str, done: int, total: int) -> None:
        bag = self.active
        if bag is not None and key == bag.key and self.result_of(bag) is None:
            self.screening.status.progress(f"Scoring {Path(bag.host).stem}: {done}/{total} patches", done, total)

    def set_threshold(self, threshold: float) -> None:
        if self.active is not None and self.result_of(self.active) is not None:
            self.screening.view.set_threshold(threshold)

    # -- the officer's answer --------------------------------------------------------------------
    def answer(self, kind: str) -> bool:
        """S or C pressed: True when it answered (or was held back by) a TIP bag, so it is no decision."""
        bag = self.active
        if bag is None:
            return False
        if self.outcome:
            self.screening.status.idle("Press Enter to go on with the real bag")
            return True
        if bag.pixels is None or self.screening.view.path != bag.key:
            return True  # not on screen yet: nothing was judged
        operator = self.officer.ensure_operator()
        if operator is None:
            log.warning("no operator name given: TIP answer not recorded")
            return True
        self.outcome = "hit" if kind == "suspect" else "miss"
        seconds = round(time.monotonic() - self.shown_at, 3) if self.shown_at else 0.0
        self.pending.pop(bag.host, None)
        data = self._record(bag, kind, operator, seconds)
        if data is not None:
            self.recorded.emit(data)
        cat = bag.category.lower()
        if self.outcome == "hit":
            text = f"TIP: projected threat found ({cat}). Well done."
        else:
            text = f"TIP missed: this bag held a projected {cat}. It is kept for review."
        self.marker.show(bag.box_xyxy, self.outcome == "hit", text)
        self.changed.emit()
        return True

    def _record(self, bag: TipBag, kind: str, operator: str, seconds: float) -> dict | None:
        o = self.officer
        if o.audit is None:
            o.set_session(str(Path(bag.host).parent))
        assert o.audit is not None
        image = ""
        if self.outcome == "miss":
            stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime())
            try:
                image = str(keep_missed(bag, o.audit.path.parent / MISSED_DIR, stamp, operator))
            except (OSError, EngineError) as exc:
                o.audit_failed.emit(str(o.audit.path.parent / MISSED_DIR), f"missed TIP image not kept: {exc}")
        result = self.result_of(bag)
        point = o.threshold.point
        rec = asdict(Decision(
            decision=kind, scan=bag.host, operator=operator, seconds_to_decision=seconds, model=o.model_name,
            model_file=o.model_file, threshold=finite_or_none(point.threshold),
            scan_score=finite_or_none(result.score) if result is not None else None,
            flagged=bool(result.score >= point.threshold) if result is not None else None,
            operating_point=point.describe(), ground_truth=THREAT, session=o.session_file,
            folder=o.session_dir or ""))
        rec["tip"] = {"category": bag.category, "outcome": self.outcome, "box": bag.box_xyxy,
                      "source": bag.source, "rate": self.config.rate, "image": image}
        return o.append_record(rec)

    def acknowledge(self) -> None:
        """Enter after the TIP message: the real bag underneath comes up for its own decision."""
        if self.active is None or not self.outcome:
            return
        self._leave()
        self.screening.go(self.screening.current)

    def _leave(self) -> None:
        if self.active is not None:
            self.marker.hide()
        self.active, self.outcome, self.shown_at = None, "", 0.0

    def state(self) -> dict[str, Any]:
        """For tests and the status: what is on screen."""
        bag = self.active
        return {"tip": bag is not None, "outcome": self.outcome,
                "bag": dataclasses.replace(bag, pixels=None) if bag is not None else None}
