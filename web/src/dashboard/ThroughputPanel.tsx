// Throughput and queue: metrics GET /v1/projects/{id}/throughput (counts in the window, per
// minute, the project's queue now by unit kind, lease outcomes, time to resolution, time per
// judgment, per expert) and GET /v1/queue (the tenant's queue depth by project and by skill).
import { useQuery } from "@tanstack/react-query";
import { useMemo } from "react";
import type { Role } from "../session";
import { may } from "./access";
import { categoryHeight, categoryZoom, Chart, VISIBLE_CATEGORIES, type ChartOption } from "./Chart";
import type { ActiveFilters } from "./filters";
import { count, duration, figure, num, when } from "./format";
import { NotForRole, Panel, QueryView } from "./Panel";
import { fetchQueue, fetchThroughput, keys, retryServerErrors, type TenantQueue, type Throughput } from "./queries";

const SERIES = ["registered", "queued", "leased", "submitted", "resolved"] as const;
const SERIES_TEXT: Record<(typeof SERIES)[number], string> = {
  registered: "Items registered",
  queued: "Units queued",
  leased: "Leases handed out",
  submitted: "Judgments submitted",
  resolved: "Items resolved",
};

export function ThroughputPanel({ filters, role, current }: { filters: ActiveFilters; role: Role; current: string }) {
  const throughput = useQuery({
    queryKey: keys.throughput(filters),
    queryFn: ({ signal }) => fetchThroughput(filters, signal),
    retry: retryServerErrors,
  });
  const queueAllowed = may(role, "queue");
  const queue = useQuery({ queryKey: keys.queue, queryFn: ({ signal }) => fetchQueue(signal), enabled: queueAllowed, retry: retryServerErrors });
  return (
    <Panel id="throughput" title="Throughput and queue">
      <QueryView query={throughput} empty="No event of this project yet: nothing registered, queued or judged.">
        {(data) => <ThroughputView data={data} />}
      </QueryView>
      <h3>Queue depth of the tenant</h3>
      {queueAllowed ? (
        <QueryView query={queue} empty="Nothing queued." isEmpty={(d) => d.projects.length === 0 && d.skills.length === 0}>
          {(data) => <QueueView data={data} current={current} />}
        </QueryView>
      ) : (
        <NotForRole what="The tenant's queue is for ops and admin." />
      )}
    </Panel>
  );
}

/** Buckets of the window (per minute over an hour, per hour otherwise), empty ones at 0. */
function buckets(data: Throughput): { at: number[]; counts: Record<(typeof SERIES)[number], number[]>; size: string } {
  const start = Date.parse(data.start);
  const end = Date.parse(data.end);
  const step = end - start <= 3_600_000 ? 60_000 : 3_600_000;
  const first = Math.floor(start / step) * step;
  const n = Math.max(1, Math.ceil((end - first) / step));
  const at = Array.from({ length: n }, (_, i) => first + i * step);
  const counts = Object.fromEntries(SERIES.map((s) => [s, new Array<number>(n).fill(0)])) as Record<(typeof SERIES)[number], number[]>;
  for (const minute of data.per_minute) {
    const i = Math.floor((Date.parse(minute.minute) - first) / step);
    if (i < 0 || i >= n) continue;
    for (const s of SERIES) counts[s][i] += minute[s];
  }
  return { at, counts, size: step === 60_000 ? "minute" : "hour" };
}

function ThroughputView({ data }: { data: Throughput }) {
  const series = useMemo(() => buckets(data), [data]);
  const option = useMemo<ChartOption>(
    () => ({
      legend: { top: 0 },
      tooltip: { trigger: "axis" },
      grid: { left: 8, right: 16, top: 48, bottom: 24, containLabel: true },
      xAxis: { type: "time" },
      yAxis: { type: "value", name: `per ${series.size}`, minInterval: 1 },
      series: SERIES.map((s) => ({
        type: "line",
        name: SERIES_TEXT[s],
        showSymbol: series.at.length <= 72,
        data: series.at.map((t, i) => [t, series.counts[s][i]]),
      })),
    }),
    [series],
  );
  const t = data.time_to_resolution;
  const label =
    `Events per ${series.size} from ${when(data.start)} to ${when(data.end)}: ` +
    SERIES.map((s) => `${SERIES_TEXT[s]} ${data.totals[s]} in all`).join(", ");
  return (
    <>
      <p className="anchor">
        Window {data.window}: {when(data.start)} to {when(data.end)}.
      </p>
      <table className="data">
        <caption>In the window</caption>
        <tbody>
          {SERIES.map((s) => (
            <tr key={s}>
              <th scope="row">{SERIES_TEXT[s]}</th>
              <td className="num">{count(data.totals[s])}</td>
            </tr>
          ))}
          <tr>
            <th scope="row">Time to resolution (p50 / p90 / p99)</th>
            <td>
              {t.n === 0
                ? `no item resolved${t.reason ? `: ${t.reason}` : ""}`
                : `${duration(t.p50)} / ${duration(t.p90)} / ${duration(t.p99)} over ${count(t.n)} items (within ${num(t.relative_accuracy * 100, 0)} %)`}
              {t.unregistered > 0 ? `; ${count(t.unregistered)} resolved items without a registration left out` : ""}
            </td>
          </tr>
          <tr>
            <th scope="row">Time per judgment (median / mean)</th>
            <td>
              {data.judgments.n === 0
                ? "no judgment"
                : `${duration(data.judgments.median)} / ${duration(data.judgments.mean)} over ${count(data.judgments.n)}`}
            </td>
          </tr>
          <tr>
            <th scope="row">Lease expiry rate</th>
            <td>
              {figure(data.leases.expiry_rate, true)} ({count(data.leases.expired)} expired, {count(data.leases.submitted)} judged,{" "}
              {count(data.leases.released)} released, {count(data.leases.open)} open of {count(data.leases.leases)})
            </td>
          </tr>
        </tbody>
      </table>
      <Chart option={option} label={label} height="16rem" />
      <table className="data">
        <caption>The project's queue now (oldest queued {when(data.queue.oldest_queued_at)})</caption>
        <thead>
          <tr>
            <th scope="col">Unit kind</th>
            <th scope="col">Queued</th>
            <th scope="col">Leased</th>
          </tr>
        </thead>
        <tbody>
          {data.queue.by_kind.map((k) => (
            <tr key={k.kind}>
              <th scope="row">{k.kind}</th>
              <td className="num">{count(k.queued)}</td>
              <td className="num">{count(k.leased)}</td>
            </tr>
          ))}
          <tr>
            <th scope="row">All kinds</th>
            <td className="num">{count(data.queue.queued)}</td>
            <td className="num">{count(data.queue.leased)}</td>
          </tr>
        </tbody>
      </table>
      {data.experts && data.experts.length > 0 ? (
        <table className="data">
          <caption>Per expert in the window</caption>
          <thead>
            <tr>
              <th scope="col">Expert</th>
              <th scope="col">Judgments</th>
              <th scope="col">Per hour</th>
              <th scope="col">Time per judgment (median)</th>
            </tr>
          </thead>
          <tbody>
            {data.experts.map((e) => (
              <tr key={e.expert_id}>
                <th scope="row">{e.expert_id}</th>
                <td className="num">{count(e.judgments)}</td>
                <td className="num">{num(e.per_hour, 1)}</td>
                <td className="num">{duration(e.time_spent_s.median)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
    </>
  );
}

function QueueView({ data, current }: { data: TenantQueue; current: string }) {
  const option = useMemo<ChartOption>(
    () => ({
      legend: { top: 0 },
      tooltip: { trigger: "axis" },
      grid: { left: 8, right: data.skills.length > VISIBLE_CATEGORIES ? 40 : 16, top: 32, bottom: 8, containLabel: true },
      ...categoryZoom(data.skills.length),
      yAxis: { type: "category", data: data.skills.map((s) => s.skill), inverse: true, axisLabel: { width: 150, overflow: "truncate" } },
      xAxis: { type: "value", minInterval: 1 },
      series: [
        { type: "bar", name: "Queued", stack: "depth", data: data.skills.map((s) => s.queued), label: { show: true } },
        { type: "bar", name: "Leased", stack: "depth", data: data.skills.map((s) => s.leased), label: { show: true } },
      ],
    }),
    [data],
  );
  const label = `Queue depth by skill, queued and leased units: ${data.skills.map((s) => `${s.skill} ${s.queued} queued, ${s.leased} leased`).join("; ")}`;
  return (
    <>
      <table className="data">
        <caption>By project</caption>
        <thead>
          <tr>
            <th scope="col">Project</th>
            <th scope="col">Queued</th>
            <th scope="col">Leased</th>
            <th scope="col">Oldest queued</th>
          </tr>
        </thead>
        <tbody>
          {data.projects.map((p) => (
            <tr key={p.project_id} aria-current={p.project_id === current ? "true" : undefined}>
              <th scope="row">
                {p.project_id}
                {p.project_id === current ? " (this project)" : ""}
              </th>
              <td className="num">{count(p.queued)}</td>
              <td className="num">{count(p.leased)}</td>
              <td>{when(p.oldest_queued_at)}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {data.skills.length > 0 ? <Chart option={option} label={label} height={categoryHeight(data.skills.length, 8)} /> : null}
      <table className="data">
        <caption>By skill (a unit counts under each skill its project requires)</caption>
        <thead>
          <tr>
            <th scope="col">Skill</th>
            <th scope="col">Queued</th>
            <th scope="col">Leased</th>
            <th scope="col">Projects</th>
          </tr>
        </thead>
        <tbody>
          {data.skills.map((s) => (
            <tr key={s.skill}>
              <th scope="row">{s.skill}</th>
              <td className="num">{count(s.queued)}</td>
              <td className="num">{count(s.leased)}</td>
              <td className="num">{count(s.projects)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </>
  );
}
