// Alerts: metrics GET /v1/projects/{id}/alerts (newest first): kind, severity, when, a summary of
// the evidence, the recommended priorities, and the items the evidence names as examples.
// Label and confidence drift come only as alerts (no endpoint gives a drift series): a drift
// alert's evidence compares its baseline block of resolved items with the current block, shown
// here per class (baseline share against current share).
import { useQuery } from "@tanstack/react-query";
import { useId, useMemo, useState } from "react";
import { categoryHeight, categoryZoom, Chart, VISIBLE_CATEGORIES, type ChartOption } from "./Chart";
import { count, interval, num, percent, when } from "./format";
import { Panel, QueryView } from "./Panel";
import { ALERTS_PAGE, fetchAlerts, keys, retryServerErrors, type Alert } from "./queries";

const KINDS: Record<string, string> = {
  prelabel_error: "Pre-label error",
  drift: "Drift",
  expert_accuracy: "Expert accuracy",
  agreement: "Low agreement",
};

export function AlertsPanel({ project }: { project: string }) {
  const id = useId();
  const [kind, setKind] = useState("");
  const query = useQuery({
    queryKey: keys.alerts(project),
    queryFn: ({ signal }) => fetchAlerts(project, signal),
    retry: retryServerErrors,
  });
  return (
    <Panel id="alerts" title="Alerts">
      <p className="anchor">
        Drift of resolved labels and of pre-label confidences is reported only as alerts: each compares a baseline block of resolved items
        with the current block.
      </p>
      <QueryView query={query} empty="No alert for this project." isEmpty={(d) => d.items.length === 0}>
        {(data) => {
          const shown = kind ? data.items.filter((a) => a.kind === kind) : data.items;
          return (
            <>
              <label htmlFor={`${id}-kind`}>
                Kind
                <select id={`${id}-kind`} value={kind} onChange={(e) => setKind(e.target.value)}>
                  <option value="">Every kind ({data.items.length})</option>
                  {Object.entries(KINDS).map(([k, text]) => (
                    <option key={k} value={k}>
                      {text} ({data.items.filter((a) => a.kind === k).length})
                    </option>
                  ))}
                </select>
              </label>
              {shown.length === 0 ? <p className="empty">No alert of this kind.</p> : null}
              <ul className="alerts">
                {shown.map((alert) => (
                  <AlertView key={alert.alert_id} alert={alert} />
                ))}
              </ul>
              {data.next_cursor ? <p className="anchor">The {ALERTS_PAGE} newest alerts are shown; older ones exist.</p> : null}
            </>
          );
        }}
      </QueryView>
    </Panel>
  );
}

function AlertView({ alert }: { alert: Alert }) {
  const heading = `alert-${alert.alert_id}`;
  const examples = exampleItems(alert.evidence);
  return (
    <li>
      <article aria-labelledby={heading} className={`alert severity-${alert.severity}`}>
        <h3 id={heading}>
          {KINDS[alert.kind] ?? alert.kind}: {alert.severity}
        </h3>
        <dl>
          <dt>Severity</dt>
          <dd>{alert.severity}</dd>
          <dt>Raised</dt>
          <dd>
            <time dateTime={alert.raised_at}>{when(alert.raised_at)}</time>
          </dd>
          <dt>Summary</dt>
          <dd>{alert.summary}</dd>
          <dt>Evidence</dt>
          <dd>{evidenceSummary(alert)}</dd>
        </dl>
        {alert.kind === "drift" ? <DriftContributions alert={alert} /> : null}
        {examples.length > 0 ? (
          <>
            <h4>Example items</h4>
            <ul>
              {examples.map((e) => (
                <li key={e.item}>
                  {e.item}
                  {e.note ? ` (${e.note})` : ""}
                </li>
              ))}
            </ul>
          </>
        ) : null}
        {alert.recommendations.length > 0 ? (
          <table className="data">
            <caption>Recommended priorities</caption>
            <thead>
              <tr>
                <th scope="col">Target</th>
                <th scope="col">Kind</th>
                <th scope="col">Priority</th>
                <th scope="col">Why</th>
              </tr>
            </thead>
            <tbody>
              {alert.recommendations.map((r) => (
                <tr key={`${r.target_kind}:${r.target}`}>
                  <th scope="row">{r.target}</th>
                  <td>{r.target_kind}</td>
                  <td className="num">{num(r.score, 2)}</td>
                  <td>{r.reason}</td>
                </tr>
              ))}
            </tbody>
          </table>
        ) : null}
      </article>
    </li>
  );
}

// --- the evidence, read defensively (its shape depends on the kind) ----------------------------

type Evidence = Record<string, unknown>;

const isRecord = (v: unknown): v is Evidence => typeof v === "object" && v !== null && !Array.isArray(v);
const numberOf = (v: unknown): number | null => (typeof v === "number" && Number.isFinite(v) ? v : null);
const textOf = (v: unknown): string | null => (typeof v === "string" ? v : null);
const rateOf = (v: unknown): string => (isRecord(v) ? percent(numberOf(v.value)) : "no value");
const ciOf = (v: unknown): number[] | null =>
  Array.isArray(v) && v.length === 2 && v.every((x) => typeof x === "number") ? (v as number[]) : null;

function evidenceSummary(alert: Alert): string {
  const e = alert.evidence;
  switch (alert.kind) {
    case "prelabel_error":
      return (
        `Model ${textOf(e.model) ?? "?"} ${textOf(e.version) ?? ""}, class ${textOf(e.class_id) ?? "?"}: ` +
        `${count(numberOf(e.errors))} of ${count(numberOf(e.n))} wrong (${rateOf(e.rate)}) against ${rateOf(e.others_rate)} ` +
        `for the other classes; ${textOf(e.test) ?? "test"} q = ${num(numberOf(e.q_value), 4)}.`
      );
    case "drift": {
      const window = (w: unknown) =>
        isRecord(w) ? `${when(textOf(w.start))} to ${when(textOf(w.end))} (${count(numberOf(w.n))} observations)` : "unknown";
      const test = isRecord(e.test) ? `${textOf(e.test.name) ?? "test"} p = ${num(numberOf(e.test.p_value), 4)}` : "";
      return (
        `${textOf(e.what) === "confidences" ? "Pre-label confidences" : "Resolved labels"}${textOf(e.scope) ? ` of ${textOf(e.scope)}` : ""}: ` +
        `baseline ${window(e.baseline)} against current ${window(e.current)}; PSI ${num(numberOf(e.psi))}, ` +
        `Jensen-Shannon ${num(numberOf(e.js))}${test ? `, ${test}` : ""}.`
      );
    }
    case "expert_accuracy":
      return (
        `Expert ${textOf(e.expert_id) ?? "?"}${textOf(e.scope) ? ` (${textOf(e.scope)})` : ""}: gold accuracy ${rateOf(e.before)} before, ` +
        `${rateOf(e.after)} after (a drop of ${percent(numberOf(e.drop))}) at gold judgment ${count(numberOf(e.index))}, ` +
        `${textOf(e.detector) ?? "ADWIN"} over ${count(numberOf(e.n))} outcomes.`
      );
    case "agreement":
      return (
        `${textOf(e.figure) ?? "agreement"} on ${textOf(e.field) ?? "?"} ${num(numberOf(e.value))} ` +
        `(95 % interval ${interval(ciOf(e.ci))}, ${count(numberOf(e.n))} items), below the threshold ${num(numberOf(e.threshold))} ` +
        `by ${num(numberOf(e.gap))}.`
      );
    default:
      return Object.keys(e).length ? `Recorded: ${Object.keys(e).join(", ")}.` : "None recorded.";
  }
}

/** The items an alert's evidence names: a pre-label alert's examples, an agreement alert's items. */
function exampleItems(e: Evidence): { item: string; note?: string }[] {
  const out: { item: string; note?: string }[] = [];
  if (Array.isArray(e.examples)) {
    for (const x of e.examples) if (typeof x === "string") out.push({ item: x });
  }
  if (Array.isArray(e.items)) {
    for (const x of e.items) {
      if (typeof x === "string") out.push({ item: x });
      else if (isRecord(x) && typeof x.item_id === "string") {
        const d = numberOf(x.disagreement);
        out.push({ item: x.item_id, note: d === null ? undefined : `disagreement ${num(d, 2)}` });
      }
    }
  }
  return out;
}

interface Contribution {
  class_id: string;
  baseline: number;
  current: number;
  psi: number | null;
}

function contributions(e: Evidence): Contribution[] {
  if (!Array.isArray(e.contributions)) return [];
  return e.contributions.flatMap((c) =>
    isRecord(c) && typeof c.class_id === "string"
      ? [{ class_id: c.class_id, baseline: numberOf(c.baseline_share) ?? 0, current: numberOf(c.current_share) ?? 0, psi: numberOf(c.psi_term) }]
      : [],
  );
}

/** A label drift alert's classes: their share in the baseline block against the current one. */
function DriftContributions({ alert }: { alert: Alert }) {
  const rows = useMemo(() => contributions(alert.evidence), [alert.evidence]);
  const option = useMemo<ChartOption>(
    () => ({
      legend: { top: 0 },
      tooltip: { trigger: "axis" },
      grid: { left: 8, right: rows.length > VISIBLE_CATEGORIES ? 48 : 32, top: 32, bottom: 24, containLabel: true },
      ...categoryZoom(rows.length),
      yAxis: { type: "category", data: rows.map((r) => r.class_id), inverse: true, axisLabel: { width: 150, overflow: "truncate" } },
      xAxis: { type: "value", name: "share", min: 0, axisLabel: { formatter: (v: number) => `${Math.round(v * 100)} %` } },
      series: [
        { type: "bar", name: "Baseline share", data: rows.map((r) => r.baseline), label: { show: true, position: "right", formatter: (p) => percent(p.value as number, 0) } },
        { type: "bar", name: "Current share", data: rows.map((r) => r.current), label: { show: true, position: "right", formatter: (p) => percent(p.value as number, 0) } },
      ],
    }),
    [rows],
  );
  if (rows.length === 0) return null;
  const label = `Drift against the baseline: share of each class in the baseline block and in the current block; ${rows
    .map((r) => `${r.class_id} ${percent(r.baseline)} then ${percent(r.current)}`)
    .join("; ")}`;
  return (
    <>
      <Chart option={option} label={label} height={categoryHeight(rows.length * 2)} />
      <table className="data">
        <caption>Classes carrying the drift</caption>
        <thead>
          <tr>
            <th scope="col">Class</th>
            <th scope="col">Baseline share</th>
            <th scope="col">Current share</th>
            <th scope="col">PSI term</th>
          </tr>
        </thead>
        <tbody>
          {rows.map((r) => (
            <tr key={r.class_id}>
              <th scope="row">{r.class_id}</th>
              <td className="num">{percent(r.baseline)}</td>
              <td className="num">{percent(r.current)}</td>
              <td className="num">{num(r.psi, 4)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </>
  );
}
