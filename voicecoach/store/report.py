"""Reports from the history: a chart a person understands without the table, and CSV."""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import os
import tempfile
from pathlib import Path

LOCATIONS = ["back", "buttock", "thigh", "knee", "calf", "foot"]  # from the back down the leg
FIELDS = ["id", "date", "routine", "minutes", "pain_before", "pain_after", "location_before",
          "location_after", "preference", "end", "holds_done", "holds_cut"]


@contextlib.contextmanager
def replaced_atomically(path: Path):
    """A temporary file beside ``path`` that replaces it only once it is completely written:
    a full disk or a crash leaves the old report as it was, never half a file."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=path.suffix, dir=path.parent)
    os.close(fd)
    try:
        yield Path(tmp)
        os.replace(tmp, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)


def cell(value):
    """A value as a spreadsheet shows it and never runs it: text that a spreadsheet would take
    for a formula (a routine named "=HYPERLINK(...)" in a user's file) gets a leading quote."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def write_csv(rows: list[dict], path: Path) -> None:
    with replaced_atomically(path) as tmp, open(tmp, "w", newline="") as f:
        writer = csv.DictWriter(f, FIELDS, extrasaction="ignore")
        writer.writeheader()
        for r in sorted(rows, key=lambda r: r["started_at"]):
            row = {**r, "date": dt.datetime.fromtimestamp(r["started_at"]).isoformat(timespec="minutes"),
                   "minutes": round(r["minutes"], 1)}
            writer.writerow({k: cell(v) for k, v in row.items()})


def write_chart(rows: list[dict], path: Path) -> None:
    import warnings
    with warnings.catch_warnings():  # (matplotlib's notes, e.g. an empty legend, are not the person's problem)
        warnings.simplefilter("ignore")
        _write_chart(rows, path)


def _write_chart(rows: list[dict], path: Path) -> None:
    import matplotlib
    matplotlib.use("Agg")  # files only: no screen needed
    import matplotlib.pyplot as plt

    rows = sorted(rows, key=lambda r: r["started_at"])
    when = [dt.datetime.fromtimestamp(r["started_at"]) for r in rows]
    fig, (ax_pain, ax_where) = plt.subplots(2, 1, figsize=(10, 7), sharex=True,
                                            gridspec_kw={"height_ratios": [3, 2]})
    fig.suptitle("Your leg pain over time", fontsize=15, fontweight="bold")

    for key, label, style in (("pain_before", "before the session", "o-"), ("pain_after", "after", "s--")):
        pts = [(t, r[key]) for t, r in zip(when, rows) if r[key] is not None]
        if pts:
            ax_pain.plot(*zip(*pts), style, label=label, linewidth=2, markersize=6)
    ax_pain.set_ylim(-0.5, 10.5)
    ax_pain.set_ylabel("pain (0 = none, 10 = worst)")
    ax_pain.grid(alpha=0.3)
    ax_pain.legend(loc="upper right")

    for key, label, marker in (("location_before", "before", "o"), ("location_after", "after", "s")):
        pts = [(t, LOCATIONS.index(r[key])) for t, r in zip(when, rows) if r[key] in LOCATIONS]
        if pts:
            ax_where.plot(*zip(*pts), marker=marker, linestyle="-", label=label, linewidth=2)
    ax_where.set_yticks(range(len(LOCATIONS)), LOCATIONS)
    ax_where.set_ylim(len(LOCATIONS) - 0.5, -0.5)  # back at the top, foot at the bottom: like a body
    ax_where.set_ylabel("pain reaches down to")
    ax_where.grid(alpha=0.3)
    ax_where.legend(loc="lower right")
    ax_where.annotate("higher on the chart = pain retreating toward the back (a good sign)",
                      xy=(0.01, 0.04), xycoords="axes fraction", fontsize=9, color="dimgray")

    for t, r in zip(when, rows):
        if r["preference"]:
            for ax in (ax_pain, ax_where):
                ax.axvline(t, color="tab:green", alpha=0.4, linestyle=":")
            ax_pain.annotate(f"test: {r['preference']}", xy=(t, 10.2), fontsize=8, color="tab:green",
                             rotation=0, ha="left")
        if r["end"] == "safety":
            ax_pain.axvline(t, color="tab:red", alpha=0.5)
    _date_axis(ax_where, when)
    fig.autofmt_xdate()
    fig.tight_layout()
    try:
        with replaced_atomically(path) as tmp:
            fig.savefig(tmp, dpi=110, format="png")
    finally:
        plt.close(fig)


def _date_axis(ax, when: list[dt.datetime]) -> None:
    """Dates that make sense for the sessions there are: at least a week around them (one
    session alone made matplotlib spread its axis over years), day labels for short spans."""
    import matplotlib.dates as mdates
    first, last = min(when), max(when)
    pad = max(dt.timedelta(days=1), (last - first) * 0.05)
    if last - first < dt.timedelta(days=7):
        middle = first + (last - first) / 2
        first, last = middle - dt.timedelta(days=3.5), middle + dt.timedelta(days=3.5)
    ax.set_xlim(first - pad, last + pad)
    locator = mdates.AutoDateLocator(minticks=3, maxticks=10)
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))
