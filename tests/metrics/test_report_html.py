"""``python -m services.metrics.report FILE --html OUT``: the report as a self-contained HTML
page (services/metrics/report_html.py) whose tables carry the JSON's numbers."""

from __future__ import annotations

import io
import json
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

from services.metrics.report import main, report
from services.metrics.report_html import colour, render, text_colour
from tests.metrics.judgments import project_judgments

VOID = {"meta", "br", "hr", "img", "input", "link", "wbr", "col", "area", "base", "source"}
SCRIPT = "e1<script>alert(1)</script>"


class Page(HTMLParser):
    """The page's text, every tag balanced (or an AssertionError), the rows of each table by
    field and kind, the titles of each SVG and the cells' tooltips."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []
        self.field: str | None = None
        self.tables: dict[tuple[str, str], list[list[str]]] = {}
        self.table: tuple[str, str] | None = None
        self.row: list[str] | None = None
        self.cell: list[str] | None = None
        self.svgs: list[dict[str, str]] = []
        self.in_svg_title = False
        self.titles: list[str] = []  # title attributes (tooltips of table cells)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        self.tags.append((tag, a))
        if tag not in VOID:
            self.stack.append(tag)
        if a.get("title"):
            self.titles.append(str(a["title"]))
        if tag == "section" and a.get("data-field") is not None:
            self.field = a["data-field"]
        elif tag == "table" and self.field is not None:
            self.table = (self.field, str(a.get("data-table")))
            self.tables[self.table] = []
        elif tag == "tr" and self.table is not None:
            self.row = []
        elif tag in ("td", "th") and self.row is not None:
            self.cell = []
        elif tag == "svg":
            self.svgs.append({"role": str(a.get("role")), "title": "", "desc": ""})
        elif tag in ("title", "desc") and self.svgs and self.stack.count("svg"):
            self.in_svg_title = len(self.stack) >= 2 and self.stack[-2] == "svg"

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_endtag(self, tag: str) -> None:
        assert self.stack, f"</{tag}> without an open tag"
        assert self.stack[-1] == tag, f"</{tag}> closes <{self.stack[-1]}>"
        self.stack.pop()
        if tag in ("title", "desc"):
            self.in_svg_title = False
        elif tag in ("td", "th") and self.row is not None and self.cell is not None:
            self.row.append(" ".join("".join(self.cell).split()))
            self.cell = None
        elif tag == "tr" and self.table is not None and self.row is not None:
            self.tables[self.table].append(self.row)
            self.row = None
        elif tag == "table":
            self.table = None
        elif tag == "section":
            self.field = None

    def handle_data(self, data: str) -> None:
        self.text.append(data)
        if self.cell is not None:
            self.cell.append(data)
        if self.in_svg_title:
            self.svgs[-1][self.stack[-1]] += data


def parse(page: str) -> Page:
    parser = Page()
    parser.feed(page)
    parser.close()
    assert parser.stack == [], f"unclosed tags: {parser.stack}"
    return parser


def fmt(value: float | None) -> str:
    return "—" if value is None else f"{value:.3f}".replace("-0.000", "0.000")


def the_report() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(json.dumps(report(project_judgments("p1"))))
    return data


def single_figures(figures: dict[str, Any]) -> dict[str, dict[str, Any]]:
    out = {f"krippendorff_alpha.{k}": f for k, f in figures["krippendorff_alpha"].items()}
    out |= {f"gwet_ac2.{k}": f for k, f in figures["gwet_ac2"].items()}
    out |= {k: figures[k] for k in ("fleiss_kappa", "gwet_ac1", "percent_agreement")}
    return out


def test_the_page_parses_and_its_tables_carry_every_figure_of_every_field() -> None:
    data = the_report()
    page = parse(render(data))
    text = "".join(page.text)
    assert len(data["fields"]) == 9
    for name, figures in data["fields"].items():
        assert name in text
        rows = {row[1]: row for row in page.tables[(name, "figures")][2:]}  # 2 header rows
        expected = single_figures(figures)
        assert set(rows) == set(expected)
        for key, f in expected.items():
            _, _, value, low, high, n, se, note = rows[key]
            ci = f["ci"] or [None, None]
            assert [value, low, high, n, se] == [
                fmt(f["value"]),
                fmt(ci[0]),
                fmt(ci[1]),
                str(f["n"]),
                fmt(f.get("se")),
            ]
            assert note == (f.get("reason") or "")
            if f["value"] is not None:
                assert fmt(f["value"]) in text
        pairs = page.tables[(name, "pairs")][2:]
        assert len(pairs) == len(figures["cohen_kappa"]["pairs"])
        for row, pair in zip(pairs, figures["cohen_kappa"]["pairs"], strict=True):
            assert row[:3] == [pair["a"], pair["b"], str(pair["n"])]
            cells = row[3:-1]
            for k, key in enumerate(("unweighted", "linear", "quadratic", "percent_agreement")):
                f = pair[key]
                ci = f["ci"] or [None, None]
                assert cells[3 * k : 3 * k + 3] == [fmt(f["value"]), fmt(ci[0]), fmt(ci[1])]
                assert (f.get("reason") or "") in row[-1]


def test_the_page_is_self_contained_and_every_chart_is_titled_and_described() -> None:
    data = the_report()
    html = render(data)
    page = parse(html)
    tags = {tag for tag, _ in page.tags}
    assert "script" not in tags
    assert "link" not in tags
    assert "img" not in tags
    assert not [a for _, a in page.tags if "src" in a]
    assert "@import" not in html
    assert "url(" not in html
    hrefs = [a["href"] for tag, a in page.tags if tag == "a" and a.get("href")]
    assert hrefs
    assert all(str(h).startswith(("#", "docs/metrics.md#")) for h in hrefs)
    # per field a dot chart and a heatmap, each an image with a title and a description
    assert len(page.svgs) == 2 * len(data["fields"])
    for svg in page.svgs:
        assert svg["role"] == "img"
        assert svg["title"].strip()
        assert svg["desc"].strip()
    assert any("Krippendorff" in svg["title"] for svg in page.svgs)
    assert any("Cohen" in svg["title"] for svg in page.svgs)


def test_text_from_the_data_is_escaped() -> None:
    judgments = [
        j.model_copy(update={"expert_id": SCRIPT}) if j.expert_id == "e1" else j
        for j in project_judgments("p1")
    ]
    data = json.loads(json.dumps(report(judgments)))
    data["fields"]['flag.<img src=x onerror="alert(2)">'] = data["fields"].pop("flag.ambiguous")
    html = render(data, source="<b>export</b>.jsonl")
    assert "<script>" not in html
    assert "<img" not in html
    assert "<b>export" not in html
    assert "&lt;script&gt;" in html
    page = parse(html)
    text = "".join(page.text)
    assert SCRIPT in text
    assert "<b>export</b>.jsonl" in text
    assert "script" not in {tag for tag, _ in page.tags}
    rows = page.tables[('flag.<img src=x onerror="alert(2)">', "pairs")][2:]
    assert [row[0] for row in rows].count(SCRIPT) + [row[1] for row in rows].count(SCRIPT) == 2


def test_undefined_figures_show_a_dash_with_their_reason() -> None:
    data = the_report()
    reason = data["fields"]["class.cat"]["gwet_ac2"]["linear"]["reason"]
    page = parse(render(data))
    row = next(r for r in page.tables[("class.cat", "figures")] if r[1] == "gwet_ac2.linear")
    assert row[2] == "—"
    assert row[-1] == reason
    assert reason in page.titles  # the tooltip of the value's cell
    pair = page.tables[("class.cat", "pairs")][2]  # weighted kappas of a nominal field
    assert pair[6:9] == ["—", "—", "—"]
    assert pair[-1] == (
        f"Cohen's kappa, linear weights: {reason}; Cohen's kappa, quadratic weights: {reason}"
    )


def test_a_report_with_an_undefined_value_in_the_charts_and_no_pairs() -> None:
    data = the_report()
    field = data["fields"]["verdict"]
    field["fleiss_kappa"] = {"value": None, "n": 0, "ci": None, "reason": "no <item> at all"}
    field["cohen_kappa"]["pairs"] = []
    html = render(
        {"schema": data["schema"], "judgments": 0, "left_out": 0, "fields": {"verdict": field}}
    )
    page = parse(html)
    assert "no &lt;item&gt; at all" in html
    assert "no <item> at all" in page.titles
    assert "No two experts judged the same item." in "".join(page.text)
    assert len(page.svgs) == 1
    assert "No field has a judgment." in render({"fields": {}})


@pytest.mark.parametrize(
    ("value", "expected"), [(-1.0, "#7f3b08"), (0.0, "#f7f7f7"), (1.0, "#2d004b"), (3.0, "#2d004b")]
)
def test_the_palette_runs_from_orange_to_purple(value: float, expected: str) -> None:
    assert colour(value) == expected


def test_cell_text_takes_the_colour_of_higher_contrast() -> None:
    assert text_colour("#2d004b") == "#ffffff"
    assert text_colour("#f7f7f7") == "#000000"
    assert text_colour("#fdb863") == "#000000"


def test_main_writes_the_page_and_still_prints_the_json(tmp_path: Path) -> None:
    export = tmp_path / "judgments.jsonl"
    export.write_text("".join(j.model_dump_json() + "\n" for j in project_judgments("p1")))
    out = tmp_path / "report.html"
    plain, with_html = io.StringIO(), io.StringIO()
    assert main([str(export)], stdout=plain) == 0
    assert main([str(export), "--html", str(out)], stdout=with_html) == 0
    assert json.loads(with_html.getvalue()) == json.loads(plain.getvalue())
    page = out.read_text(encoding="utf-8")
    assert page == render(json.loads(plain.getvalue()), source="judgments.jsonl")
    parse(page)


def test_main_refuses_a_page_it_cannot_write(tmp_path: Path) -> None:
    export = tmp_path / "judgments.jsonl"
    export.write_text(project_judgments("p1")[0].model_dump_json() + "\n")
    out = io.StringIO()
    assert main([str(export), "--html", str(tmp_path / "missing" / "r.html")], stdout=out) == 2
    assert out.getvalue() == ""
