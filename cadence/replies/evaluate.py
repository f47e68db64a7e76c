"""Grade the classifier on a labelled folder: ``DIR/manifest.json`` lists files and labels.

Each manifest entry has ``file``, ``label`` and, for out-of-office mail, ``return_date`` (the day
the text says the person is back) or ``absence_end_date`` (the last day away, for "until X" and
ranges; the expected return is then the next business day). The label ``bounce`` marks a delivery
report whose text gives no reason: either bounce label is right for it (hard vs soft is not
graded where the source does not say).
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from cadence.replies.classify import LABELS, classify
from cadence.replies.return_date import next_business_day

UNGRADED_BOUNCE = "bounce"  # a bounce whose source does not say hard or soft
TARGETS = {
    "exact label": 0.97,
    "bounce vs not-bounce": 0.995,
    "auto-reply recall": 0.95,
    "return dates": 0.80,
}


def expected_return(entry: dict[str, Any]) -> date | None:
    if entry.get("return_date"):
        return date.fromisoformat(entry["return_date"])
    if entry.get("absence_end_date"):
        return next_business_day(date.fromisoformat(entry["absence_end_date"]))
    return None


@dataclass
class Report:
    total: int = 0
    confusion: Counter[tuple[str, str]] = field(default_factory=Counter)  # (truth, predicted)
    dates_stated: int = 0
    dates_right: int = 0
    dates_invented: int = 0  # a date where the text states none
    ungraded: int = 0  # bounces labelled "bounce": hard vs soft not graded
    mistakes: list[str] = field(default_factory=list)

    def share(self, hits: int, of: int) -> float:
        return hits / of if of else 1.0

    def metrics(self) -> dict[str, float]:
        c = self.confusion
        right = sum(n for (t, p), n in c.items() if t == p)
        bounce_right = sum(n for (t, p), n in c.items()
                           if t.startswith("bounce") == p.startswith("bounce"))  # fmt: skip
        auto = sum(n for (t, _), n in c.items() if t == "auto_reply")
        humans = sum(n for (t, _), n in c.items() if t == "human_reply")
        return {
            "exact label": self.share(right, self.total),
            "bounce vs not-bounce": self.share(bounce_right, self.total),
            "auto-reply recall": self.share(c["auto_reply", "auto_reply"], auto),
            "human reply misread": 1 - self.share(c["human_reply", "human_reply"], humans),
            "return dates": self.share(self.dates_right, self.dates_stated),
            "dates invented": float(self.dates_invented),
        }

    def meets_targets(self) -> bool:
        metrics = self.metrics()
        return (
            all(metrics[name] >= goal for name, goal in TARGETS.items())
            and metrics["human reply misread"] <= 0.01
            and self.dates_invented == 0
        )

    def render(self) -> str:
        labels = list(LABELS)
        width = max(len(label) for label in labels) + 2
        lines = ["confusion matrix (rows: truth, columns: predicted)",
                 " " * width + "".join(f"{label[:11]:>12}" for label in labels)]  # fmt: skip
        for truth in labels:
            row = "".join(f"{self.confusion[truth, p]:>12}" for p in labels)
            lines.append(f"{truth:<{width}}{row}")
        lines += ["", f"{'label':<{width}}{'precision':>10}{'recall':>10}{'support':>10}"]
        for label in labels:
            predicted = sum(n for (_, p), n in self.confusion.items() if p == label)
            support = sum(n for (t, _), n in self.confusion.items() if t == label)
            hits = self.confusion[label, label]
            lines.append(f"{label:<{width}}{self.share(hits, predicted):>10.3f}"
                         f"{self.share(hits, support):>10.3f}{support:>10}")  # fmt: skip
        lines.append("")
        metrics = self.metrics()
        for name, value in metrics.items():
            if name == "dates invented":
                lines.append(f"{name:<24}{int(value):>8}   (target 0)")
                continue
            target = TARGETS.get(name)
            shown = f"{target:.1%}".replace(".0%", "%") if target else ""
            goal = f"   (target >= {shown})" if target else "   (target <= 1%)"
            lines.append(f"{name:<24}{value:>8.1%}{goal}")
        lines.append(f"return dates: {self.dates_right} of {self.dates_stated} stated dates right")
        if self.ungraded:
            lines.append(f"{self.ungraded} bounces give no reason: hard vs soft not graded (a "
                         "miss is counted in the bounce_hard row)")  # fmt: skip
        if self.mistakes:
            lines += ["", "mistakes:", *self.mistakes]
        return "\n".join(lines)


def evaluate(folder: Path) -> Report:
    """Classify every file the manifest names and compare with its labels."""
    entries = json.loads((folder / "manifest.json").read_text())
    report = Report()
    for entry in entries:
        verdict = classify((folder / entry["file"]).read_bytes())
        truth = entry["label"]
        if truth == UNGRADED_BOUNCE:
            report.ungraded += 1
            truth = verdict.label if verdict.label.startswith("bounce") else "bounce_hard"
        report.total += 1
        report.confusion[truth, verdict.label] += 1
        if truth != verdict.label:
            report.mistakes.append(f"  {entry['file']}: {truth} read as {verdict.label}"
                                   f" ({verdict.reason})")  # fmt: skip
        if truth != "auto_reply":
            continue
        expected = expected_return(entry)
        if expected is not None:
            report.dates_stated += 1
            report.dates_right += verdict.return_date == expected
            if verdict.return_date != expected:
                report.mistakes.append(f"  {entry['file']}: return date {verdict.return_date},"
                                       f" expected {expected}")  # fmt: skip
        elif verdict.return_date is not None:
            report.dates_invented += 1
            report.mistakes.append(f"  {entry['file']}: invented return date "
                                   f"{verdict.return_date}")  # fmt: skip
    return report
