"""The report's figures as small, deterministic PNG bytes (matplotlib, Agg, no pyplot state).

Each function takes plain data (dicts and rows as read from the run folder) and returns PNG bytes,
or None when the data hold nothing to draw. Labels are drawn as plain text (no mathtext), so a
family name with `$` in it is shown as written.
"""
from __future__ import annotations

import io
import math
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

import matplotlib
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator, NullFormatter

HOLDOUT_COLOURS = {"seen": "#d9822b", "unseen": "#2b7bb9"}
GROUP_COLOURS = {"attention": "#2b7bb9", "mlp": "#d9822b"}
_STYLE = {
    "text.parse_math": False,
    "font.size": 9,
    "axes.titlesize": 10,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "svg.hashsalt": "memgap",
}
MAX_NAMED_FAMILIES = 30  # above this, per-family lifts are drawn by rank instead of by name


def _new_figure(width: float, height: float) -> Figure:
    # An Agg canvas of its own: no pyplot, so a user's notebook backend and figure list stay untouched.
    fig = Figure(figsize=(width, height), dpi=100, layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def _png(fig: Figure) -> bytes:
    buffer = io.BytesIO()
    # No Software/date metadata: the same data give byte-identical files.
    fig.savefig(buffer, format="png", dpi=100, metadata={"Software": None})
    return buffer.getvalue()


def _styled(function):
    def wrapper(*args, **kwargs):
        with matplotlib.rc_context(_STYLE):
            return function(*args, **kwargs)

    wrapper.__name__ = function.__name__
    wrapper.__doc__ = function.__doc__
    return wrapper


def _finite(x: Any) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)


@_styled
def lifts_figure(lifts: dict[str, dict[str, dict]], metric_titles: dict[str, str], gaps: dict[str, dict] | None = None) -> bytes | None:
    """Lift with its confidence interval on the seen and unseen hold-out, one panel per metric."""
    metrics = [m for m in lifts if isinstance(lifts[m], dict)]
    if not metrics:
        return None
    fig = _new_figure(3.0 * len(metrics) + 0.6, 2.6)
    axes = fig.subplots(1, len(metrics), squeeze=False)[0]
    for ax, metric in zip(axes, metrics):
        rows = [("seen\nfamilies", lifts[metric].get("seen"), HOLDOUT_COLOURS["seen"]),
                ("unseen\nfamilies", lifts[metric].get("unseen"), HOLDOUT_COLOURS["unseen"])]
        gap = (gaps or {}).get(metric)
        if isinstance(gap, dict):
            rows.append(("gap", gap, "#777777"))
        for x, (name, s, colour) in enumerate(rows):
            if not isinstance(s, dict) or not _finite(s.get("delta")):
                continue
            low, high = s.get("ci_low"), s.get("ci_high")
            if _finite(low) and _finite(high):
                ax.errorbar([x], [s["delta"]], yerr=[[s["delta"] - low], [high - s["delta"]]], fmt="o",
                            color=colour, capsize=4, markersize=6, linewidth=1.6)
            else:
                ax.plot([x], [s["delta"]], "o", color=colour)
        ax.axhline(0, color="#444444", linewidth=0.8)
        ax.set_xticks(range(len(rows)), [name for name, _, _ in rows])
        ax.set_xlim(-0.5, len(rows) - 0.5)
        ax.set_title(metric_titles.get(metric, metric))
        ax.set_ylabel("lift (adapter better ↑)")
    return _png(fig)


@_styled
def per_family_figure(rows: Sequence[dict], title: str) -> bytes | None:
    """Each family's lift, seen and unseen families in their colours, sorted by lift."""
    rows = [r for r in rows if isinstance(r, dict) and _finite(r.get("lift"))]
    if not rows:
        return None
    rows = sorted(rows, key=lambda r: (r["lift"], str(r.get("family"))))
    named = len(rows) <= MAX_NAMED_FAMILIES
    height = max(2.4, 0.17 * len(rows) + 0.8) if named else 2.8
    fig = _new_figure(6.4, height)
    ax = fig.subplots()
    colours = [HOLDOUT_COLOURS.get(r.get("holdout"), "#777777") for r in rows]
    positions = range(len(rows))
    if named:
        ax.barh(list(positions), [r["lift"] for r in rows], color=colours, height=0.7)
        ax.set_yticks(list(positions), [_short(str(r.get("family")), 28) for r in rows], fontsize=7)
        ax.axvline(0, color="#444444", linewidth=0.8)
        ax.set_xlabel("lift (adapter better →)")
    else:
        ax.scatter(list(positions), [r["lift"] for r in rows], c=colours, s=10)
        ax.axhline(0, color="#444444", linewidth=0.8)
        ax.set_xlabel("families, sorted by lift")
        ax.set_ylabel("lift")
    for holdout, colour in HOLDOUT_COLOURS.items():
        ax.scatter([], [], color=colour, label=f"{holdout} families", marker="s")
    ax.legend(loc="lower right", fontsize=7, frameon=False)
    ax.set_title(title)
    return _png(fig)


def gradient_shares(rows: Sequence[dict]) -> tuple[list[int], list[str], list[list[float]]]:
    """Share of the total squared gradient norm per (layer, module), summed over steps and LoRA matrices."""
    totals: dict[tuple[int, str], float] = defaultdict(float)
    groups: dict[str, str] = {}
    for row in rows:
        totals[(row["layer"], row["module"])] += row["norm"] ** 2
        groups.setdefault(row["module"], row["group"])
    grand = sum(totals.values()) or 1.0
    layers = sorted({layer for layer, _ in totals})
    modules = sorted(groups, key=lambda m: (groups[m] != "attention", groups[m], _MODULE_ORDER.get(m, 99), m))
    shares = [[totals.get((layer, module), 0.0) / grand for module in modules] for layer in layers]
    return layers, modules, shares


_MODULE_ORDER = {name: i for i, name in enumerate(
    ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"))}


@_styled
def gradient_heatmap(rows: Sequence[dict]) -> bytes | None:
    """Where training pressure went: share of squared gradient norm per layer and module."""
    if not rows:
        return None
    layers, modules, shares = gradient_shares(rows)
    # Full module names (GPT-2's "attn.c_proj" as much as "q_proj"): the figure grows with the longest
    # name and constrained layout leaves room for the rotated labels, so none is cut off.
    longest = max(len(m) for m in modules)
    fig = _new_figure(max(4.6, 0.62 * len(modules) + 2.2), max(2.4, 0.22 * len(layers) + 1.0 + 0.055 * longest))
    ax = fig.subplots()
    image = ax.imshow(shares, aspect="auto", cmap="viridis", origin="lower", interpolation="nearest")
    ax.set_xticks(range(len(modules)), modules, rotation=35, ha="right", rotation_mode="anchor")
    step = max(1, len(layers) // 12)
    ax.set_yticks(range(0, len(layers), step), [str(layers[i]) for i in range(0, len(layers), step)])
    ax.set_ylabel("layer")
    ax.set_title("share of squared gradient norm")
    fig.colorbar(image, ax=ax, shrink=0.85)
    return _png(fig)


@_styled
def group_share_figure(rows: Sequence[dict]) -> bytes | None:
    """Share of squared gradient norm per module group (attention, MLP) at each logged step."""
    if not rows:
        return None
    by_step: dict[int, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    for row in rows:
        by_step[row["step"]][row["group"]] += row["norm"] ** 2
    steps = sorted(by_step)
    groups = sorted({g for per_group in by_step.values() for g in per_group})
    fig = _new_figure(5.2, 2.4)
    ax = fig.subplots()
    for group in groups:
        shares = [by_step[s][group] / (sum(by_step[s].values()) or 1.0) for s in steps]
        ax.plot(steps, shares, label=group, color=GROUP_COLOURS.get(group), linewidth=1.6)
    ax.set_ylim(0, 1)
    return _over_steps(fig, ax, ylabel="share", title="attention vs MLP share over training")


@_styled
def update_norms_figure(rows: Sequence[dict]) -> bytes | None:
    """Realised LoRA update per layer: relative norm and effective rank, one line per module."""
    if not rows:
        return None
    modules = sorted({r["module"] for r in rows}, key=lambda m: (_MODULE_ORDER.get(m, 99), m))
    fig = _new_figure(7.4, 2.5)
    left, right = fig.subplots(1, 2)
    for module in modules:
        mine = sorted((r for r in rows if r["module"] == module), key=lambda r: r["layer"])
        layers = [r["layer"] for r in mine]
        left.plot(layers, [r["relative_norm"] for r in mine], marker="o", markersize=3, linewidth=1.2, label=module)
        right.plot(layers, [r["effective_rank"] for r in mine], marker="o", markersize=3, linewidth=1.2)
    left.set_title("‖ΔW‖ / ‖W‖")
    right.set_title("effective rank of ΔW")
    for ax in (left, right):
        ax.set_xlabel("layer")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    fig.legend(*left.get_legend_handles_labels(), loc="outside right upper", fontsize=7, frameon=False)
    return _png(fig)


@_styled
def loss_curve(log_history: Sequence[dict]) -> bytes | None:
    """Training loss (and evaluation loss, if logged) against the optimizer step."""
    train = [(r["step"], r["loss"]) for r in log_history if _finite(r.get("step")) and _finite(r.get("loss"))]
    evaluation = [(r["step"], r["eval_loss"]) for r in log_history if _finite(r.get("step")) and _finite(r.get("eval_loss"))]
    if not train and not evaluation:
        return None
    fig = _new_figure(5.2, 2.4)
    ax = fig.subplots()
    if train:
        ax.plot(*zip(*train), color="#2b7bb9", linewidth=1.6, label="training loss")
    if evaluation:
        ax.plot(*zip(*evaluation), color="#d9822b", linewidth=1.6, marker="o", markersize=3, label="evaluation loss")
    return _over_steps(fig, ax, ylabel="loss", title="training loss")


@_styled
def family_sizes_figure(sizes: Sequence[int]) -> bytes | None:
    """Rows per family against the family's rank (largest first), on log scales: a rank plot.

    A histogram of sizes is mostly empty when a few families are large; the rank plot shows at once
    how steeply the largest families dominate. The dashed line marks the largest 10 % of families.
    """
    sizes = sorted((int(s) for s in sizes if _finite(s) and s > 0), reverse=True)
    if not sizes:
        return None
    fig = _new_figure(6.2, 2.5)
    ax = fig.subplots()
    ranks = range(1, len(sizes) + 1)
    ax.plot(list(ranks), sizes, marker="o", markersize=3, linewidth=1.2, color="#2b7bb9")
    ax.set_xscale("log")
    ax.set_yscale("log")
    # Ticks at 1-2-5 steps plus the ends, as plain numbers (the default log labels are mathtext, off here).
    ax.set_xticks(_one_two_five(1, len(sizes)), [f"{v:g}" for v in _one_two_five(1, len(sizes))])
    ax.set_yticks(_one_two_five(sizes[-1], sizes[0]), [f"{v:g}" for v in _one_two_five(sizes[-1], sizes[0])])
    ax.xaxis.set_minor_formatter(NullFormatter())
    ax.yaxis.set_minor_formatter(NullFormatter())
    top = max(1, math.ceil(0.1 * len(sizes)))
    ax.axvline(top + 0.5, color="#999999", linestyle="--", linewidth=0.8)
    share = sum(sizes[:top]) / sum(sizes)
    ax.set_xlabel("family rank (1 = largest); dashed: the largest 10 % of families")
    ax.set_ylabel("rows in the family")
    ax.set_title(f"family sizes: {len(sizes)} families, {sum(sizes)} rows; largest 10 % hold {100 * share:.0f} % of rows")
    return _png(fig)


@_styled
def membership_roc_figure(curves: dict[str, tuple[Sequence[float], Sequence[float]]], aucs: dict[str, float]) -> bytes | None:
    """ROC of the membership probe (training rows vs held-out rows), one curve per model."""
    curves = {name: c for name, c in curves.items() if len(c[0]) >= 2 and len(c[0]) == len(c[1])}
    if not curves:
        return None
    fig = _new_figure(3.4, 3.0)
    ax = fig.subplots()
    colours = {"adapter": "#d9822b", "base": "#2b7bb9"}
    for name, (fpr, tpr) in curves.items():
        label = name if name not in aucs else f"{name} (AUC {aucs[name]:.2f})"
        ax.plot(fpr, tpr, linewidth=1.6, label=label, color=colours.get(name))
    ax.plot([0, 1], [0, 1], linestyle="--", color="#999999", linewidth=0.8)
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.set_xlabel("false positive rate")
    ax.set_ylabel("true positive rate")
    ax.set_title("membership inference")
    ax.legend(frameon=False, fontsize=7, loc="lower right")
    return _png(fig)


@_styled
def compare_lifts_figure(runs: Sequence[tuple[str, dict]], metric: str, title: str) -> bytes | None:
    """Lifts of two (or more) runs side by side on both hold-outs, for one metric."""
    fig = _new_figure(5.2, 2.6)
    ax = fig.subplots()
    drawn = False
    width = 0.8 / max(1, len(runs))
    palette = ["#2b7bb9", "#d9822b", "#5a9e4b", "#8e5ea2"]
    for index, (name, lifts) in enumerate(runs):
        for x, holdout in enumerate(("seen", "unseen")):
            s = ((lifts or {}).get(metric) or {}).get(holdout)
            if not isinstance(s, dict) or not _finite(s.get("delta")):
                continue
            position = x - 0.4 + width * (index + 0.5)
            low, high = s.get("ci_low"), s.get("ci_high")
            yerr = [[s["delta"] - low], [high - s["delta"]]] if _finite(low) and _finite(high) else None
            ax.errorbar([position], [s["delta"]], yerr=yerr, fmt="o", capsize=4, color=palette[index % len(palette)],
                        label=_short(name, 30) if x == 0 else None)
            drawn = True
    if not drawn:
        return None
    ax.axhline(0, color="#444444", linewidth=0.8)
    ax.set_xticks([0, 1], ["seen\nfamilies", "unseen\nfamilies"])
    ax.set_xlim(-0.6, 1.6)
    ax.set_ylabel("lift")
    ax.set_title(title)
    ax.legend(frameon=False, fontsize=8)
    return _png(fig)


def _one_two_five(low: float, high: float) -> list[float]:
    """1, 2, 5, 10, 20, 50, ... between `low` and `high`, and both ends."""
    values: set[float] = set()
    decade = 10 ** math.floor(math.log10(max(low, 1e-12)))
    while decade <= high:
        values.update(step * decade for step in (1, 2, 5) if low <= step * decade <= high)
        decade *= 10
    for end in (float(low), float(high)):  # an end only where it does not crowd a round tick
        if all(abs(math.log10(end / value)) > 0.15 for value in values):
            values.add(end)
    return sorted(values)


def _short(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


CURVE_STYLES = {"seen_holdout": ("#d9822b", "seen-family hold-out"), "unseen_holdout": ("#2b7bb9", "unseen-family hold-out"),
                "train_sample": ("#7a7a7a", "training sample")}


@_styled
def family_gap_figure(curves: dict[str, Any] | None, log_history: Sequence[dict] | None = None) -> bytes | None:
    """Completion NLL of the seen- and unseen-family hold-outs and a training sample over training, with
    family-clustered interval bands; right: the seen-minus-unseen gap in NLL reduction with its interval.
    The onset (where the gap opened) and the best step (lowest unseen-family NLL) are marked. Where no
    training sample was scored, the Trainer's per-batch training loss (`log_history`, nats per
    completion token as well) is the training line."""
    points = (curves or {}).get("points") or []
    if len(points) < 2:
        return None
    steps = [point["step"] for point in points]
    fig = _new_figure(7.2, 2.6)
    left, right = fig.subplots(1, 2, width_ratios=[3, 2])
    if any(point.get("train_sample") is None for point in points):
        logged = [(r["step"], r["loss"]) for r in log_history or () if _finite(r.get("step")) and _finite(r.get("loss"))]
        if logged:
            left.plot(*zip(*logged), color=CURVE_STYLES["train_sample"][0], linewidth=0.9,
                      label="training loss (per batch)")
    for name, (colour, label) in CURVE_STYLES.items():
        blocks = [point.get(name) for point in points]
        if any(block is None for block in blocks):
            continue
        left.plot(steps, [b["mean"] for b in blocks], color=colour, linewidth=1.6, marker="o", markersize=3, label=label)
        if all(_finite(b.get("ci_low")) and _finite(b.get("ci_high")) for b in blocks):
            left.fill_between(steps, [b["ci_low"] for b in blocks], [b["ci_high"] for b in blocks], color=colour,
                              alpha=0.15, linewidth=0)
    gaps = [point["gap"] for point in points]
    right.axhline(0, color="#999999", linewidth=0.8)
    right.plot(steps, [g["delta"] for g in gaps], color="#b03a2e", linewidth=1.6, marker="o", markersize=3)
    if all(_finite(g.get("ci_low")) and _finite(g.get("ci_high")) for g in gaps[1:]):
        right.fill_between(steps[1:], [g["ci_low"] for g in gaps[1:]], [g["ci_high"] for g in gaps[1:]],
                           color="#b03a2e", alpha=0.15, linewidth=0)
    onset, best = curves.get("onset"), curves.get("best_step")
    for ax in (left, right):
        if onset is not None:
            ax.axvline(onset["step"], color="#b03a2e", linestyle="--", linewidth=1.0,
                       label=f"gap opened (step {onset['step']})" if ax is left else None)
        if best is not None:
            ax.axvline(best, color="#2b7bb9", linestyle=":", linewidth=1.2,
                       label=f"lowest unseen-family loss (step {best})" if ax is left else None)
        ax.set_xlabel("step")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    left.set_ylabel("completion NLL (nats/token)")
    left.set_title("loss on held-out families over training")
    left.legend(frameon=False, fontsize=6)
    right.set_ylabel("gap in NLL reduction (nats)")
    right.set_title("seen minus unseen, from step 0")
    return _png(fig)


def _over_steps(fig, ax, *, ylabel: str, title: str) -> bytes:
    """Finish a plot whose x axis is the training step (whole steps), with a legend; the PNG bytes."""
    ax.set_xlabel("step")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.legend(frameon=False, fontsize=8)
    return _png(fig)


@_styled
def membership_low_fpr_figure(curves: dict[str, tuple[Sequence[float], Sequence[float]]],
                              resolution: float | None = None) -> bytes | None:
    """Membership ROC of each score on a log FPR axis, where low-FPR detection shows (1 % and 0.1 % marked).

    A curve's FPR = 0 corner is drawn at half the FPR resolution (1/n non-members), the axis' left edge.
    """
    curves = {name: c for name, c in curves.items() if len(c[0]) >= 2 and len(c[0]) == len(c[1])}
    if not curves:
        return None
    floor = (resolution or 1e-3) / 2
    fig = _new_figure(4.2, 3.2)
    ax = fig.subplots()
    for name, (fpr, tpr) in curves.items():
        ax.step([max(float(x), floor) for x in fpr], tpr, where="post", linewidth=1.4, label=name)
    for level in (0.01, 0.001):
        if level >= floor:
            ax.axvline(level, color="#999999", linestyle=":", linewidth=0.8)
    grid = [10 ** (k / 20) for k in range(int(math.floor(20 * math.log10(floor))), 1)]
    ax.plot(grid, grid, linestyle="--", color="#999999", linewidth=0.8)
    ax.set_xscale("log")
    ax.set_xlim(floor, 1)
    ticks = [t for t in (1e-4, 1e-3, 1e-2, 1e-1, 1.0) if t >= floor]
    ax.set_xticks(ticks, [f"{100 * t:g} %" for t in ticks])  # plain text: mathtext is off in the report's style
    ax.xaxis.set_minor_formatter(NullFormatter())
    ax.set_ylim(0, 1)
    ax.set_xlabel("false positive rate (log scale)")
    ax.set_ylabel("true positive rate")
    ax.set_title("membership at low false-positive rates")
    ax.legend(frameon=False, fontsize=7, loc="upper left")
    return _png(fig)
