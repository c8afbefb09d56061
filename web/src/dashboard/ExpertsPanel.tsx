// Experts: metrics GET /v1/projects/{id}/experts: each expert's gold accuracy with its Wilson
// interval, the ADWIN drift state, agreement with the resolved outcome and the Dawid–Skene
// estimate; the chosen expert's weekly gold accuracy (the `trend`) charted against their
// overall gold accuracy (the baseline) — the one drift series the API gives.
import { useQuery } from "@tanstack/react-query";
import { useId, useMemo, useState } from "react";
import type { Role } from "../session";
import { may } from "./access";
import { Chart, intervalSeries, type ChartOption } from "./Chart";
import { Fig } from "./Figure";
import { count, percent, when } from "./format";
import { colour } from "./palette";
import { NotForRole, Panel, QueryView } from "./Panel";
import { fetchExperts, keys, retryServerErrors, type ExpertQuality, type ProjectExperts } from "./queries";

export function ExpertsPanel({ project, role }: { project: string; role: Role }) {
  const allowed = may(role, "experts");
  const query = useQuery({
    queryKey: keys.experts(project),
    queryFn: ({ signal }) => fetchExperts(project, signal),
    enabled: allowed,
    retry: retryServerErrors,
  });
  return (
    <Panel id="experts" title="Experts">
      {allowed ? (
        <QueryView query={query} empty="No gold, outcome or estimate for an expert of this project yet." isEmpty={(d) => d.experts.length === 0}>
          {(data) => <ExpertsView data={data} />}
        </QueryView>
      ) : (
        <NotForRole what="Per-expert figures name experts: only ops and admin see them." />
      )}
    </Panel>
  );
}

/** The drift state in a word or two, and the detector's figures in small print. */
function DriftCell({ e }: { e: ExpertQuality }) {
  const drift = e.gold?.drift;
  if (!drift) return <>no gold</>;
  const shift = drift.last_shift;
  const state = drift.alerting ? "Dropping (alert)" : shift ? `Steady since a ${shift.direction}` : "Steady";
  const last = shift
    ? `; last shift at gold judgment ${shift.index} (${when(shift.at)}): ${percent(shift.before.value)} to ${percent(shift.after.value)}`
    : "";
  return (
    <>
      {state}
      <span className="sub">
        recent {percent(drift.recent_accuracy.value)} over {count(drift.seen)} seen, {drift.shifts} shifts, {drift.alerts} alerts{last}
      </span>
    </>
  );
}

function ExpertsView({ data }: { data: ProjectExperts }) {
  const id = useId();
  const withTrend = data.experts.filter((e) => e.trend.length > 0);
  const firstAlerting = withTrend.find((e) => e.gold?.drift.alerting) ?? withTrend[0];
  const [chosen, setChosen] = useState<string | null>(null);
  const expert = withTrend.find((e) => e.expert_id === chosen) ?? firstAlerting;
  return (
    <>
      {data.dawid_skene ? (
        <p className="anchor">
          Dawid–Skene estimate computed {when(data.dawid_skene.computed_at)}
          {data.dawid_skene.converged === false ? " (not converged)" : ""}
          {data.dawid_skene.reason ? `: ${data.dawid_skene.reason}` : ""}.
        </p>
      ) : null}
      <table className="data">
        <caption>Accuracy and drift per expert</caption>
        <thead>
          <tr>
            <th scope="col">Expert</th>
            <th scope="col">Gold accuracy (95 % interval, n)</th>
            <th scope="col">Drift</th>
            <th scope="col">Verdict matches outcome (95 % interval)</th>
            <th scope="col">Class matches outcome (95 % interval)</th>
            <th scope="col">Dawid–Skene accuracy</th>
          </tr>
        </thead>
        <tbody>
          {data.experts.map((e) => (
            <tr key={e.expert_id} data-expert={e.expert_id}>
              <th scope="row">{e.expert_id}</th>
              <td>{e.gold ? <Fig estimate={e.gold.accuracy} asPercent n /> : "no gold"}</td>
              <td>
                <DriftCell e={e} />
              </td>
              <td>
                <Fig estimate={e.outcome.verdict} asPercent />
              </td>
              <td>
                <Fig estimate={e.outcome.class} asPercent />
              </td>
              <td>
                {e.dawid_skene ? (
                  <>
                    <span className="nowrap">{percent(e.dawid_skene.accuracy)}</span>
                    <span className="sub">over {count(e.dawid_skene.judgments)} judgments</span>
                  </>
                ) : (
                  "not estimated yet"
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {expert ? (
        <>
          <h3>Weekly gold accuracy</h3>
          <label htmlFor={`${id}-expert`}>
            Expert
            <select id={`${id}-expert`} value={expert.expert_id} onChange={(e) => setChosen(e.target.value)}>
              {withTrend.map((e) => (
                <option key={e.expert_id} value={e.expert_id}>
                  {e.expert_id}
                  {e.gold?.drift.alerting ? " (dropping)" : ""}
                </option>
              ))}
            </select>
          </label>
          <TrendChart expert={expert} />
        </>
      ) : (
        <p className="empty">No expert has gold judgments yet: no accuracy trend.</p>
      )}
    </>
  );
}

function TrendChart({ expert }: { expert: ExpertQuality }) {
  const baseline = expert.gold?.accuracy.value ?? null;
  const recent = expert.gold?.drift.recent_accuracy.value ?? null;
  const option = useMemo<ChartOption>(() => {
    const weeks = expert.trend.map((w) => w.week.slice(0, 10));
    const lines: { name: string; yAxis: number; lineStyle: { type: "dashed" | "dotted"; color: string } }[] = [];
    if (baseline !== null) lines.push({ name: "overall", yAxis: baseline, lineStyle: { type: "dashed", color: colour("blue") } });
    if (recent !== null) lines.push({ name: "recent", yAxis: recent, lineStyle: { type: "dotted", color: colour("vermillion") } });
    return {
      legend: { top: 0 },
      tooltip: { trigger: "axis" },
      grid: { left: 8, right: 64, top: 32, bottom: 24, containLabel: true },
      xAxis: { type: "category", data: weeks, name: "week" },
      yAxis: { type: "value", min: 0, max: 1, name: "accuracy", axisLabel: { formatter: (v: number) => `${Math.round(v * 100)} %` } },
      series: [
        {
          type: "line",
          name: "Gold accuracy per week",
          data: expert.trend.map((w) => w.accuracy.value),
          symbolSize: 8,
          markLine: {
            symbol: "none",
            label: { formatter: "{b}: {c}" },
            data: lines.map((l) => ({ name: l.name, yAxis: Number(l.yAxis.toFixed(3)), lineStyle: l.lineStyle })),
          },
        },
        intervalSeries(
          "95 % interval",
          expert.trend.flatMap((w, i) => (w.accuracy.ci ? [[i, w.accuracy.ci[0], w.accuracy.ci[1]] as const] : [])),
        ),
      ],
    };
  }, [expert, baseline, recent]);
  const label =
    `Weekly gold accuracy of ${expert.expert_id} against the baseline, their overall gold accuracy ${percent(baseline)} ` +
    `(dashed), and the detector's recent accuracy ${percent(recent)} (dotted): ` +
    expert.trend.map((w) => `week of ${w.week.slice(0, 10)} ${percent(w.accuracy.value)} (${w.accuracy.n})`).join("; ");
  return (
    <>
      <Chart option={option} label={label} height="16rem" />
      <details>
        <summary>
          Week by week ({expert.trend.length} {expert.trend.length === 1 ? "week" : "weeks"})
        </summary>
        <table className="data">
          <caption>Weekly gold accuracy of {expert.expert_id} (overall {percent(baseline)})</caption>
          <thead>
            <tr>
              <th scope="col">Week of</th>
              <th scope="col">Accuracy (95 % interval)</th>
              <th scope="col">Gold judgments</th>
            </tr>
          </thead>
          <tbody>
            {expert.trend.map((w) => (
              <tr key={w.week}>
                <th scope="row">{w.week.slice(0, 10)}</th>
                <td>
                  <Fig estimate={w.accuracy} asPercent />
                </td>
                <td className="num">{count(w.accuracy.n)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </details>
    </>
  );
}
