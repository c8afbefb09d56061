"""The offline agreement report (:mod:`services.metrics.report`) as one self-contained HTML page.

:func:`render` takes the report's JSON data and returns the page: no script, no stylesheet,
font or image from elsewhere; the charts are inline SVG drawn from the numbers. Per field:

* a table of every figure (value, 95 % interval, n, SE, the reason of an undefined one);
* a dot chart of Krippendorff's alpha (each level), Fleiss' kappa and Gwet's AC1, each as a
  point with its 95 % interval as whiskers;
* the expert pairs' unweighted Cohen's kappa as a heatmap (ColorBrewer's PuOr, a
  colour-blind-safe diverging palette; the value written in each cell) and a table of every
  pair's figures.

Every chart's numbers are also in a table, each SVG has ``role="img"``, a ``<title>`` and a
``<desc>``. Every text from the data (field names, class ids, expert ids, reasons) goes through
:func:`html.escape`. Numbers are written to 3 decimals; an undefined figure is "—" with its
reason as the tooltip and in the table. Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from html import escape
from typing import Any

#: ColorBrewer PuOr, 11 classes, from -1 (orange: below chance) to 1 (purple: above chance).
PUOR = (
    "#7f3b08",
    "#b35806",
    "#e08214",
    "#fdb863",
    "#fee0b6",
    "#f7f7f7",
    "#d8daeb",
    "#b2abd2",
    "#8073ac",
    "#542788",
    "#2d004b",
)
DASH = "—"
LOW, HIGH = -1.0, 1.0  # the charts' domain (every chance-corrected figure is at most 1)

ALPHA_LEVELS = ("nominal", "ordinal", "interval", "ratio")
COHEN = ("unweighted", "linear", "quadratic", "percent_agreement")
NAMES = {
    "fleiss_kappa": "Fleiss' kappa",
    "gwet_ac1": "Gwet's AC1",
    "percent_agreement": "Percent agreement",
    "unweighted": "Cohen's kappa",
    "linear": "Cohen's kappa, linear weights",
    "quadratic": "Cohen's kappa, quadratic weights",
}

CSS = """
:root { color: #1a1a1a; background: #fff; }
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial,
  sans-serif; line-height: 1.45; margin: 2rem auto; max-width: 60rem; padding: 0 1rem; }
h1, h2, h3 { line-height: 1.2; }
h2 { border-top: 2px solid #444; padding-top: 1rem; margin-top: 2.5rem; }
code { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: .9em; }
a { color: #1f4e9c; }
.note { border-left: 4px solid #542788; background: #f4f2f9; padding: .5rem 1rem; }
table { border-collapse: collapse; margin: .75rem 0 1.5rem; font-size: .9rem; }
caption { text-align: left; font-weight: 600; padding-bottom: .25rem; }
th, td { border: 1px solid #8a8a8a; padding: .2rem .5rem; vertical-align: top; }
thead th { background: #ececec; }
td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
td.undefined { text-align: center; }
figure { margin: 1rem 0; }
figcaption { font-size: .9rem; color: #333; }
svg { display: block; max-width: 100%; height: auto; }
svg text { fill: #1a1a1a; }
.meta { color: #333; }
@media print {
  body { margin: 0; max-width: none; font-size: 10pt; }
  h2 { break-before: auto; break-after: avoid; }
  figure, table, .note { break-inside: avoid; }
  svg, td, th { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
  .note { background: none; }
  a { color: inherit; }
}
"""


def render(
    report: Mapping[str, Any], *, source: str | None = None, docs: str = "docs/metrics.md"
) -> str:
    """The HTML page of an agreement report (``quorum.metrics.agreement-report.v1``);
    ``source`` names the export in the heading, ``docs`` is the link to docs/metrics.md."""
    fields: Mapping[str, Mapping[str, Any]] = report.get("fields", {})
    heading = "Agreement report" + (f": {source}" if source else "")
    out = [
        "<!DOCTYPE html>",
        '<html lang="en">',
        "<head>",
        '<meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{escape(heading)}</title>",
        f"<style>{CSS}</style>",
        "</head>",
        "<body>",
        "<header>",
        f"<h1>{escape(heading)}</h1>",
        '<p class="meta">'
        f"Schema <code>{escape(str(report.get('schema', '')))}</code>; "
        f"{escape(str(report.get('judgments', '')))} judgments used, "
        f"{escape(str(report.get('left_out', '')))} left out (adjudication).</p>",
        "</header>",
        "<main>",
        _how_to_read(docs),
    ]
    if fields:
        out.append('<nav aria-label="Fields"><h2>Fields</h2><ul>')
        for i, name in enumerate(fields):
            out.append(f'<li><a href="#field-{i}">{escape(name)}</a></li>')
        out.append("</ul></nav>")
    else:
        out.append("<p>No field has a judgment.</p>")
    for i, (name, figures) in enumerate(fields.items()):
        out.append(_field(i, name, figures))
    out += ["</main>", "</body>", "</html>", ""]
    return "\n".join(out)


def number(value: float | None) -> str:
    """A figure to 3 decimals ("—" when undefined; never "-0.000")."""
    if value is None:
        return DASH
    return f"{round(value, 3) + 0.0:.3f}"


def colour(value: float) -> str:
    """The PuOr class of a value in [-1, 1] (values outside take the end classes)."""
    clamped = min(max(value, LOW), HIGH)
    return PUOR[round((clamped - LOW) / (HIGH - LOW) * (len(PUOR) - 1))]


def text_colour(fill: str) -> str:
    """Black or white, whichever contrasts more with ``fill`` (WCAG relative luminance)."""

    def channel(c: int) -> float:
        s = c / 255
        return s / 12.92 if s <= 0.04045 else ((s + 0.055) / 1.055) ** 2.4

    r, g, b = (int(fill[k : k + 2], 16) for k in (1, 3, 5))
    lum = 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b)
    return "#000000" if (lum + 0.05) / 0.05 >= 1.05 / (lum + 0.05) else "#ffffff"


def figure_rows(figures: Mapping[str, Any]) -> list[tuple[str, str, Mapping[str, Any]]]:
    """Every single figure of a field as ``(key, name, figure)``, in the JSON's order."""
    rows: list[tuple[str, str, Mapping[str, Any]]] = []
    for level, f in figures.get("krippendorff_alpha", {}).items():
        rows.append((f"krippendorff_alpha.{level}", f"Krippendorff's alpha ({level})", f))
    for key in ("fleiss_kappa", "gwet_ac1"):
        if key in figures:
            rows.append((key, NAMES[key], figures[key]))
    for weights, f in figures.get("gwet_ac2", {}).items():
        rows.append((f"gwet_ac2.{weights}", f"Gwet's AC2 ({weights} weights)", f))
    if "percent_agreement" in figures:
        rows.append(("percent_agreement", NAMES["percent_agreement"], figures["percent_agreement"]))
    return rows


def _how_to_read(docs: str) -> str:
    link = escape(docs)
    return f"""<section class="note" aria-labelledby="how-to-read">
<h2 id="how-to-read">How to read this</h2>
<ul>
<li>Krippendorff's alpha, Fleiss' kappa, Gwet's AC1 / AC2 and Cohen's kappa are
chance-corrected: 1 is perfect agreement, 0 is the agreement chance alone gives, below 0 is
less than chance. Percent agreement is the share of items on which every judgment agrees, not
corrected for chance. Krippendorff suggests relying on data with alpha of at least 0.800, and
on alpha of at least 0.667 for tentative conclusions only.</li>
<li>Each figure comes with its <strong>n</strong> (the items or pairs it stands on) and its
<strong>95 % interval</strong>: in the charts, the point is the value and the whiskers the
interval (drawn within -1 to 1; the tables give the exact bounds). A wide interval means few
items: read n before comparing fields.</li>
<li>The heatmap gives, for each pair of experts, the unweighted Cohen's kappa on the items both
judged: purple above chance, orange below, near-white around 0. Every cell also carries its
value; the pair table below it gives n, intervals and the weighted variants.</li>
<li>"{DASH}" is an undefined figure (for instance no item with two judgments, or a single
value); its reason is in the table and in the tooltip.</li>
<li>Definitions, intervals and n of each figure:
<a href="{link}#figures-computed-on-read"><code>{link}</code>, "Figures"</a>; fields and this
report: <a href="{link}#offline-report"><code>{link}</code>, "Offline report"</a>.</li>
</ul>
</section>"""


def _field(index: int, name: str, figures: Mapping[str, Any]) -> str:
    scale = ", ".join(str(v) for v in figures.get("scale", []))
    out = [
        f'<section id="field-{index}" data-field="{escape(name)}"'
        f' aria-labelledby="field-{index}-heading">',
        f'<h2 id="field-{index}-heading">{escape(name)}</h2>',
        '<p class="meta">'
        f"Level <strong>{escape(str(figures.get('level', '')))}</strong>; "
        f"scale: {escape(scale) or DASH}; "
        f"{escape(str(figures.get('items', '')))} items, "
        f"{escape(str(figures.get('judgments', '')))} judgments, "
        f"{escape(str(figures.get('experts', '')))} experts.</p>",
        _figure_table(index, name, figures),
        _dot_chart(index, name, figures),
    ]
    pairs = figures.get("cohen_kappa", {}).get("pairs", [])
    out.append("<h3>Expert pairs</h3>")
    if pairs:
        out += [_heatmap(index, name, pairs), _pair_table(index, name, pairs)]
    else:
        out.append("<p>No two experts judged the same item.</p>")
    out.append("</section>")
    return "\n".join(out)


def _value_cells(f: Mapping[str, Any]) -> str:
    """Value and interval cells of one figure ("—" with the reason as tooltip if undefined)."""
    ci = f.get("ci")
    reason = f.get("reason")
    if f.get("value") is None:
        tip = f' title="{escape(str(reason))}"' if reason else ""
        value = f'<td class="num undefined"{tip}>{DASH}</td>'
    else:
        value = f'<td class="num">{number(f["value"])}</td>'
    low, high = (DASH, DASH) if ci is None else (number(ci[0]), number(ci[1]))
    return value + f'<td class="num">{low}</td><td class="num">{high}</td>'


def _cells(f: Mapping[str, Any]) -> str:
    """Value, interval, n and SE cells of one figure."""
    se = f.get("se")
    return (
        _value_cells(f)
        + f'<td class="num">{escape(str(f.get("n", DASH)))}</td>'
        + f'<td class="num">{DASH if se is None else number(se)}</td>'
    )


def _figure_table(index: int, name: str, figures: Mapping[str, Any]) -> str:
    out = [
        f'<table id="field-{index}-figures" data-table="figures">',
        f"<caption>Every figure of {escape(name)}</caption>",
        "<thead>",
        '<tr><th scope="col" rowspan="2">Figure</th><th scope="col" rowspan="2">Key</th>'
        '<th scope="col" rowspan="2">Value</th>'
        '<th scope="colgroup" colspan="2">95 % interval</th>'
        '<th scope="col" rowspan="2">n</th><th scope="col" rowspan="2">SE</th>'
        '<th scope="col" rowspan="2">Note</th></tr>',
        '<tr><th scope="col">low</th><th scope="col">high</th></tr>',
        "</thead>",
        "<tbody>",
    ]
    for key, label, f in figure_rows(figures):
        reason = f.get("reason")
        out.append(
            f'<tr><th scope="row">{escape(label)}</th><td><code>{escape(key)}</code></td>'
            + _cells(f)
            + f"<td>{escape(str(reason)) if reason else ''}</td></tr>"
        )
    out += ["</tbody>", "</table>"]
    return "\n".join(out)


def _x(value: float, left: float, width: float) -> float:
    return left + (min(max(value, LOW), HIGH) - LOW) / (HIGH - LOW) * width


def _dot_chart(index: int, name: str, figures: Mapping[str, Any]) -> str:
    rows = [
        (label, f)
        for key, label, f in figure_rows(figures)
        if key.startswith("krippendorff_alpha.") or key in ("fleiss_kappa", "gwet_ac1")
    ]
    if not rows:
        return ""
    label_w, plot_w, text_w, row_h, top = 210.0, 300.0, 220.0, 30.0, 10.0
    left = label_w
    height = top + row_h * len(rows) + 36
    width = label_w + plot_w + text_w + 10
    ident = f"field-{index}-dots"
    summary = "; ".join(f"{label}: {_said(f)}" for label, f in rows)
    parts = [
        f'<figure aria-labelledby="{ident}-caption">',
        f'<svg role="img" aria-labelledby="{ident}-title {ident}-desc"'
        f' viewBox="0 0 {width:g} {height:g}" width="{width:g}" height="{height:g}"'
        ' xmlns="http://www.w3.org/2000/svg" font-size="12">',
        f"<title id=\"{ident}-title\">Krippendorff's alpha, Fleiss' kappa and Gwet's AC1 of "
        f"{escape(name)}, with 95 % intervals</title>",
        f'<desc id="{ident}-desc">Points with interval whiskers on a scale from -1 to 1. '
        f"{escape(summary)}. The same numbers are in the table above.</desc>",
    ]
    bottom = top + row_h * len(rows)
    for tick in (-1.0, -0.5, 0.0, 0.5, 1.0):
        x = _x(tick, left, plot_w)
        stroke = ' stroke="#555555" stroke-width="1.5"' if tick == 0 else ' stroke="#c4c4c4"'
        parts.append(f'<line x1="{x:.1f}" y1="{top:.1f}" x2="{x:.1f}" y2="{bottom:.1f}"{stroke}/>')
        parts.append(
            f'<text x="{x:.1f}" y="{bottom + 16:.1f}" text-anchor="middle">{tick:g}</text>'
        )
    parts.append(
        f'<text x="{left + plot_w / 2:.1f}" y="{bottom + 32:.1f}" text-anchor="middle">'
        "value (0 = chance, 1 = perfect agreement)</text>"
    )
    for i, (label, f) in enumerate(rows):
        y = top + row_h * i + row_h / 2
        parts.append(
            f'<text x="{label_w - 10:.1f}" y="{y + 4:.1f}" text-anchor="end">{escape(label)}</text>'
        )
        value, ci = f.get("value"), f.get("ci")
        if value is None:
            reason = escape(str(f.get("reason") or "undefined"))
            parts.append(
                f'<text x="{_x(0.0, left, plot_w):.1f}" y="{y + 4:.1f}" text-anchor="middle">'
                f"<title>{reason}</title>{DASH}</text>"
            )
            parts.append(
                f'<text x="{left + plot_w + 12:.1f}" y="{y + 4:.1f}">{DASH} undefined'
                f"<title>{reason}</title></text>"
            )
            continue
        if ci is not None:
            x1, x2 = _x(ci[0], left, plot_w), _x(ci[1], left, plot_w)
            parts.append(
                f'<line x1="{x1:.1f}" y1="{y:.1f}" x2="{x2:.1f}" y2="{y:.1f}"'
                ' stroke="#542788" stroke-width="2"/>'
            )
            for bound, x in ((ci[0], x1), (ci[1], x2)):
                if LOW <= bound <= HIGH:  # no cap where the interval leaves the chart
                    parts.append(
                        f'<line x1="{x:.1f}" y1="{y - 6:.1f}" x2="{x:.1f}" y2="{y + 6:.1f}"'
                        ' stroke="#542788" stroke-width="2"/>'
                    )
        parts.append(
            f'<circle cx="{_x(value, left, plot_w):.1f}" cy="{y:.1f}" r="5"'
            ' fill="#2d004b" stroke="#ffffff" stroke-width="1.5">'
            f"<title>{escape(label)}: {escape(_said(f))}</title></circle>"
        )
        parts.append(
            f'<text x="{left + plot_w + 12:.1f}" y="{y + 4:.1f}">{escape(_interval(f))}</text>'
        )
    parts += [
        "</svg>",
        f"<figcaption id=\"{ident}-caption\">Krippendorff's alpha, Fleiss' kappa and Gwet's "
        f"AC1 of {escape(name)}: point = value, whiskers = 95 % interval.</figcaption>",
        "</figure>",
    ]
    return "\n".join(parts)


def _interval(f: Mapping[str, Any]) -> str:
    ci = f.get("ci")
    bounds = "" if ci is None else f" [{number(ci[0])}, {number(ci[1])}]"
    return f"{number(f.get('value'))}{bounds} n={f.get('n')}"


def _said(f: Mapping[str, Any]) -> str:
    if f.get("value") is None:
        return f"{DASH} ({f.get('reason') or 'undefined'})"
    return _interval(f)


def _experts(pairs: Iterable[Mapping[str, Any]]) -> list[str]:
    return sorted({str(p["a"]) for p in pairs} | {str(p["b"]) for p in pairs})


def _short(text: str, size: int = 14) -> str:
    return text if len(text) <= size else text[: size - 1] + "…"


def _heatmap(index: int, name: str, pairs: Sequence[Mapping[str, Any]]) -> str:
    experts = _experts(pairs)
    by_pair = {}
    for p in pairs:
        by_pair[(str(p["a"]), str(p["b"]))] = p
        by_pair[(str(p["b"]), str(p["a"]))] = p
    cell = 56.0
    label_w = max(40.0, 12 + 7.2 * max(len(_short(e)) for e in experts))
    top = 10 + 5.5 * max(len(_short(e)) for e in experts)  # column labels at -45 degrees
    grid = cell * len(experts)
    legend_top = top + grid + 24
    width = max(label_w + grid + top, 20 + 12 * 30 + 120)
    height = legend_top + 62
    ident = f"field-{index}-heatmap"
    parts = [
        f'<figure aria-labelledby="{ident}-caption">',
        f'<svg role="img" aria-labelledby="{ident}-title {ident}-desc"'
        f' viewBox="0 0 {width:.0f} {height:.0f}" width="{width:.0f}" height="{height:.0f}"'
        ' xmlns="http://www.w3.org/2000/svg" font-size="12">',
        f'<title id="{ident}-title">Unweighted Cohen\'s kappa of each expert pair on '
        f"{escape(name)}</title>",
        f'<desc id="{ident}-desc">A grid of {len(experts)} by {len(experts)} experts; each '
        "cell is coloured from orange (kappa -1, below chance) through white (0) to purple "
        "(1, perfect agreement) and carries its value. "
        + escape(
            "; ".join(f"{p['a']} and {p['b']}: {_said(p.get('unweighted', {}))}" for p in pairs)
        )
        + ". The same numbers are in the pair table below.</desc>",
    ]
    for i, e in enumerate(experts):
        y = top + cell * i + cell / 2 + 4
        parts.append(
            f'<text x="{label_w - 8:.1f}" y="{y:.1f}" text-anchor="end">'
            f"<title>{escape(e)}</title>{escape(_short(e))}</text>"
        )
        x = label_w + cell * i + cell / 2
        parts.append(
            f'<text x="{x:.1f}" y="{top - 6:.1f}" transform="rotate(-45 {x:.1f} {top - 6:.1f})">'
            f"<title>{escape(e)}</title>{escape(_short(e))}</text>"
        )
    for i, a in enumerate(experts):
        for j, b in enumerate(experts):
            x, y = label_w + cell * j, top + cell * i
            pair = by_pair.get((a, b))
            if a == b or pair is None:
                tip = (
                    f"{a}: the expert with themselves"
                    if a == b
                    else (f"{a} and {b}: no item judged by both")
                )
                parts.append(
                    f'<rect x="{x:.1f}" y="{y:.1f}" width="{cell:g}" height="{cell:g}"'
                    ' fill="#ffffff" stroke="#8a8a8a" stroke-dasharray="2 3">'
                    f"<title>{escape(tip)}</title></rect>"
                )
                continue
            f = pair.get("unweighted", {})
            value = f.get("value")
            tip = f"{a} and {b}: Cohen's kappa {_said(f)}"
            if value is None:
                fill, ink, shown = "#ffffff", "#000000", DASH
                stroke = ' stroke="#555555" stroke-dasharray="4 2"'
            else:
                fill = colour(value)
                ink, shown, stroke = text_colour(fill), number(value), ' stroke="#ffffff"'
            parts.append(
                f"<g><title>{escape(tip)}</title>"
                f'<rect x="{x:.1f}" y="{y:.1f}" width="{cell:g}" height="{cell:g}"'
                f' fill="{fill}"{stroke}/>'
                f'<text x="{x + cell / 2:.1f}" y="{y + cell / 2 + 4:.1f}" text-anchor="middle"'
                f' style="fill:{ink}">{shown}</text></g>'
            )
    parts.append(_legend(20.0, legend_top))
    parts += [
        "</svg>",
        f'<figcaption id="{ident}-caption">Unweighted Cohen\'s kappa of each expert pair on '
        f"{escape(name)} (ColorBrewer PuOr; dashed cell: no value, hover for the reason)."
        "</figcaption>",
        "</figure>",
    ]
    return "\n".join(parts)


def _legend(x0: float, y0: float) -> str:
    swatch = 30.0
    parts = [
        f'<text x="{x0:.1f}" y="{y0:.1f}">Cohen\'s kappa: below chance (orange) to '
        "perfect agreement (purple)</text>"
    ]
    for k, fill in enumerate(PUOR):
        x = x0 + swatch * k
        centre = LOW + (HIGH - LOW) * k / (len(PUOR) - 1)
        parts.append(
            f'<rect x="{x:.1f}" y="{y0 + 8:.1f}" width="{swatch:g}" height="16" fill="{fill}"'
            ' stroke="#8a8a8a" stroke-width="0.5"/>'
        )
        if k % 2 == 0:
            parts.append(
                f'<text x="{x + swatch / 2:.1f}" y="{y0 + 40:.1f}" text-anchor="middle">'
                f"{round(centre, 1) + 0.0:g}</text>"
            )
    x = x0 + swatch * len(PUOR) + 16
    parts.append(
        f'<rect x="{x:.1f}" y="{y0 + 8:.1f}" width="{swatch:g}" height="16" fill="#ffffff"'
        ' stroke="#555555" stroke-dasharray="4 2"/>'
    )
    parts.append(f'<text x="{x + swatch + 6:.1f}" y="{y0 + 21:.1f}">{DASH} no value</text>')
    return "\n".join(parts)


def _pair_table(index: int, name: str, pairs: Sequence[Mapping[str, Any]]) -> str:
    head = "".join(f'<th scope="colgroup" colspan="3">{escape(NAMES[k])}</th>' for k in COHEN)
    sub = '<th scope="col">value</th><th scope="col">low</th><th scope="col">high</th>' * len(COHEN)
    out = [
        f'<table id="field-{index}-pairs" data-table="pairs">',
        f"<caption>Expert pairs on {escape(name)}: Cohen's kappa and percent agreement with "
        "95 % intervals</caption>",
        "<thead>",
        '<tr><th scope="col" rowspan="2">Expert A</th><th scope="col" rowspan="2">Expert B</th>'
        f'<th scope="col" rowspan="2">n</th>{head}'
        '<th scope="col" rowspan="2">Note</th></tr>',
        f"<tr>{sub}</tr>",
        "</thead>",
        "<tbody>",
    ]
    for p in pairs:
        cells, notes = [], []
        for key in COHEN:
            f = p.get(key, {})
            reason = f.get("reason")
            if f.get("value") is None:
                notes.append(f"{NAMES[key]}: {reason or 'undefined'}")
            cells.append(_value_cells(f))
        out.append(
            f'<tr><th scope="row">{escape(str(p["a"]))}</th><td>{escape(str(p["b"]))}</td>'
            f'<td class="num">{escape(str(p.get("n", DASH)))}</td>{"".join(cells)}'
            f"<td>{escape('; '.join(notes))}</td></tr>"
        )
    out += ["</tbody>", "</table>"]
    return "\n".join(out)
