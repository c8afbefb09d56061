"""The summary a scenario ends with, printed with ``rich``."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table

from deploy.demo.program import Report


def _interval(ci: list[float] | None) -> str:
    return f"[{ci[0]:.2f}, {ci[1]:.2f}]" if ci else "-"


def _num(value: float | None, digits: int = 3) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def render(console: Console, report: Report) -> None:
    status = "[green]truths recovered[/green]" if report.passed else "[red]truth missed[/red]"
    console.rule(f"[bold]{report.scenario}[/bold] — {report.title}: {status}")
    ttr = report.time_to_resolution
    console.print(
        f"project {report.project_id}: {report.registered} items registered, "
        f"{report.resolved} resolved, {report.judgments} judgments in {report.seconds:.0f} s "
        f"({report.judgments / max(report.seconds, 1e-9):.1f} judgments/s); time to "
        f"resolution p50 {_num(ttr.get('p50'), 1)} s, p90 {_num(ttr.get('p90'), 1)} s"
    )
    if report.agreement:
        table = Table(title="agreement (Krippendorff's alpha at the field's level, 95 % CI)")
        for column in ("field", "alpha", "95 % interval", "items"):
            table.add_column(column)
        for name, alpha, ci, items in report.agreement:
            table.add_row(name, _num(alpha), _interval(ci), str(items))
        console.print(table)
    if report.experts:
        table = Table(title="experts: true accuracy against the system's estimate on gold")
        for column in ("expert", "true", "estimated", "95 % interval", "gold judged"):
            table.add_column(column)
        for expert_id, truth, estimate, ci, n in report.experts:
            table.add_row(expert_id, _num(truth), _num(estimate), _interval(ci), str(n))
        console.print(table)
    if report.alerts:
        table = Table(title="alerts raised")
        for column in ("kind", "severity", "summary"):
            table.add_column(column)
        for alert in report.alerts:
            table.add_row(alert["kind"], alert["severity"], alert["summary"])
        console.print(table)
    checks = Table(title="truths")
    for column in ("", "what should hold", "found"):
        checks.add_column(column)
    for check in report.checks:
        checks.add_row(
            "[green]✓[/green]" if check.passed else "[red]✗[/red]", check.what, check.detail
        )
    console.print(checks)
    for note in report.notes:
        console.print(f"  {note}")
