"""The supervisor's TIP settings: locked behind a passphrase, of which only a salted hash is stored.

The first time, the dialog asks the supervisor to choose the passphrase (twice); after
that it asks for it before any setting can be changed. Settings: TIP on or off, the
rate (one bag in N), the threat library (the synthetic shape models, or a labelled
folder of threat scans to cut threats from) and the categories to project.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QRadioButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from engine.data.types import CATEGORIES
from engine.errors import EngineError
from engine.tip_training import SYNTHETIC, TipConfig

from ..settings import Settings
from ..supervisor import MIN_LENGTH, hash_passphrase, verify_passphrase

if TYPE_CHECKING:
    from ..controllers.tip_training import TipTrainingController
    from ..main_window import MainWindow


def _secret(placeholder: str) -> QLineEdit:
    e = QLineEdit()
    e.setEchoMode(QLineEdit.EchoMode.Password)
    e.setPlaceholderText(placeholder)
    return e


class TipSettingsDialog(QDialog):
    def __init__(self, settings: Settings, tip: TipTrainingController, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("TIP training settings (supervisor)")
        self.settings, self.tip = settings, tip
        self.unlocked = False
        first = not settings.supervisor_hash
        lock = QGroupBox("Choose the supervisor passphrase" if first else "Supervisor passphrase")
        row = QHBoxLayout(lock)
        self.passphrase = _secret(f"at least {MIN_LENGTH} characters" if first else "passphrase")
        self.repeat = _secret("repeat it")
        self.repeat.setVisible(first)
        self.unlock_button = QPushButton("Set" if first else "Unlock")
        self.unlock_button.clicked.connect(self.unlock)
        self.passphrase.returnPressed.connect(self.unlock)
        for w in (self.passphrase, self.repeat, self.unlock_button):
            row.addWidget(w)
        self.form = QWidget()
        self._build_form(settings.tip_config())
        self.form.setEnabled(False)
        self.message = QLabel("")
        self.message.setObjectName("tipSettingsMessage")
        self.message.setWordWrap(True)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setEnabled(False)
        lay = QVBoxLayout(self)
        for w in (lock, self.form, self.message, self.buttons):
            lay.addWidget(w)

    def _build_form(self, cfg: TipConfig) -> None:
        form = QFormLayout(self.form)
        self.enabled = QCheckBox("Project threats into bags while officers screen")
        self.enabled.setChecked(cfg.enabled)
        self.rate = QSpinBox()
        self.rate.setRange(1, 1000)
        self.rate.setPrefix("1 bag in ")
        self.rate.setValue(cfg.rate)
        self.synthetic = QRadioButton("Synthetic shape models (built in)")
        self.folder_radio = QRadioButton("Labelled folder of threat scans (SIXray layout, VOC boxes):")
        self.folder = QLineEdit("" if cfg.library == SYNTHETIC else cfg.library)
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._browse)
        (self.synthetic if cfg.library == SYNTHETIC else self.folder_radio).setChecked(True)
        lib = QGridLayout()
        lib.addWidget(self.synthetic, 0, 0, 1, 2)
        lib.addWidget(self.folder_radio, 1, 0, 1, 2)
        lib.addWidget(self.folder, 2, 0)
        lib.addWidget(browse, 2, 1)
        cats = QHBoxLayout()
        self.categories = {c: QCheckBox(c) for c in CATEGORIES}
        for c, box in self.categories.items():
            box.setChecked(c in cfg.categories)
            cats.addWidget(box)
        self.new_passphrase, self.new_repeat = _secret("new passphrase (optional)"), _secret("repeat it")
        change = QHBoxLayout()
        change.addWidget(self.new_passphrase)
        change.addWidget(self.new_repeat)
        form.addRow(self.enabled)
        form.addRow("Rate", self.rate)
        form.addRow("Threat library", lib)
        form.addRow("Categories", cats)
        form.addRow("Change passphrase", change)

    def _browse(self) -> None:
        d = QFileDialog.getExistingDirectory(self, "Labelled threat scans", self.folder.text())
        if d:
            self.folder.setText(d)
            self.folder_radio.setChecked(True)

    def _say(self, text: str, ok: bool = False) -> None:
        self.message.setStyleSheet(f"color: {'#50c878' if ok else '#ff6b5e'};")
        self.message.setText(text)

    def unlock(self) -> bool:
        """Check (or, the first time, set) the passphrase; the settings open only after this."""
        text, stored = self.passphrase.text(), self.settings.supervisor_hash
        if not stored:
            if text != self.repeat.text():
                self._say("The two passphrases differ.")
                return False
            try:
                self.settings.supervisor_hash = hash_passphrase(text)
            except ValueError as exc:
                self._say(str(exc))
                return False
            self.settings.sync()
        elif not verify_passphrase(text, stored):
            self.passphrase.clear()
            self._say("Wrong passphrase.")
            return False
        self.unlocked = True
        self.passphrase.clear()
        self.repeat.clear()
        self.form.setEnabled(True)
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setEnabled(True)
        self._say("Unlocked.", ok=True)
        return True

    def config(self) -> TipConfig:
        library = SYNTHETIC if self.synthetic.isChecked() else self.folder.text().strip()
        cats = tuple(c for c, box in self.categories.items() if box.isChecked())
        return TipConfig(enabled=self.enabled.isChecked(), rate=self.rate.value(), library=library or SYNTHETIC,
                         categories=cats)

    def accept(self) -> None:
        """Apply (building the threat library) and store; an unusable setting keeps the dialog open."""
        if not self.unlocked:
            return
        new = self.new_passphrase.text()
        if new and new != self.new_repeat.text():
            self._say("The two new passphrases differ.")
            return
        try:
            cfg = self.config()
            new_hash = hash_passphrase(new) if new else ""
            self.setCursor(Qt.CursorShape.WaitCursor)
            self.tip.configure(cfg)
        except (EngineError, ValueError) as exc:
            self._say(getattr(exc, "reason", None) or str(exc))
            return
        finally:
            self.unsetCursor()
        self.settings.set_tip_config(cfg)
        if new_hash:
            self.settings.supervisor_hash = new_hash
        self.settings.sync()
        super().accept()


def open_tip_settings(win: MainWindow) -> None:
    TipSettingsDialog(win.settings, win.tip, win).exec()
