// Staffing: assignment GET /v1/projects/{id}/demand (the pending units against the roster's
// hours, stuck work, proposals of experts to invite) and GET /v1/projects/{id}/progress (items,
// units by state, resolutions by method).
import { useQuery } from "@tanstack/react-query";
import { useMemo } from "react";
import type { Role } from "../session";
import { may } from "./access";
import { Chart, type ChartOption } from "./Chart";
import { count, num, percent } from "./format";
import { NotForRole, Panel, QueryView } from "./Panel";
import { fetchDemand, fetchProgress, keys, retryServerErrors, type Demand, type Progress } from "./queries";

const WHY: Record<string, string> = {
  required_skills: "holds the required skills",
  adjudicator_level: "may adjudicate",
  unblocks_stuck_units: "unblocks stuck units",
};

export function StaffingPanel({ project, role }: { project: string; role: Role }) {
  const demandAllowed = may(role, "demand");
  const demand = useQuery({
    queryKey: keys.demand(project),
    queryFn: ({ signal }) => fetchDemand(project, signal),
    enabled: demandAllowed,
    refetchInterval: 60_000,
    retry: retryServerErrors,
  });
  const progress = useQuery({
    queryKey: keys.progress(project),
    queryFn: ({ signal }) => fetchProgress(project, signal),
    refetchInterval: 60_000,
    retry: retryServerErrors,
  });
  return (
    <Panel id="staffing" title="Staffing">
      <h3>Demand against the roster</h3>
      {demandAllowed ? (
        <QueryView query={demand} empty="No such project in your tenant.">
          {(data) => <DemandView data={data} />}
        </QueryView>
      ) : (
        <NotForRole what="Demand and the roster are for ops and admin." />
      )}
      <h3>Progress</h3>
      <QueryView query={progress} empty="No such project in your tenant.">
        {(data) => <ProgressView data={data} />}
      </QueryView>
    </Panel>
  );
}

function DemandView({ data }: { data: Demand }) {
  const option = useMemo<ChartOption>(
    () => ({
      tooltip: { trigger: "axis" },
      grid: { left: 8, right: 48, top: 8, bottom: 24, containLabel: true },
      yAxis: { type: "category", data: ["Hours needed", "Hours available"], inverse: true },
      xAxis: { type: "value", name: "hours" },
      series: [
        {
          type: "bar",
          name: "Hours",
          colorBy: "data",
          data: [data.hours_needed, data.hours_available],
          label: { show: true, position: "right", formatter: (p) => num(p.value as number, 1) },
        },
      ],
    }),
    [data.hours_needed, data.hours_available],
  );
  const state = data.blocked
    ? "Blocked: some pending units nobody on the roster may take."
    : data.outgrown
      ? "Outgrown: the roster cannot clear the pending work in time."
      : "On track: the roster's hours cover the pending work.";
  const label = `Hours needed ${num(data.hours_needed, 1)} against ${num(data.hours_available, 1)} available from the roster over ${num(data.weeks_available, 1)} weeks. ${state}`;
  return (
    <>
      <p>
        <strong>{state}</strong>
      </p>
      <Chart option={option} label={label} height="8rem" />
      <table className="data">
        <caption>Pending work and the roster</caption>
        <tbody>
          <tr>
            <th scope="row">Pending units (review and adjudication)</th>
            <td>{count(data.pending_units)}</td>
          </tr>
          <tr>
            <th scope="row">Time per unit (median)</th>
            <td>{num(data.seconds_per_unit, 0)} s</td>
          </tr>
          <tr>
            <th scope="row">Hours needed / available</th>
            <td>
              {num(data.hours_needed, 1)} / {num(data.hours_available, 1)} over {num(data.weeks_available, 1)} weeks
            </td>
          </tr>
          <tr>
            <th scope="row">Roster</th>
            <td>
              {count(data.roster_experts)} experts, {num(data.roster_hours_per_week, 1)} hours a week
            </td>
          </tr>
          <tr>
            <th scope="row">Weeks to clear</th>
            <td>{data.weeks_to_clear === null ? "never at the roster's hours" : num(data.weeks_to_clear, 1)}</td>
          </tr>
          <tr>
            <th scope="row">Stuck units / returning to a member</th>
            <td>
              {count(data.stuck_units)} / {count(data.returning_units)}
            </td>
          </tr>
        </tbody>
      </table>
      {data.proposals.length > 0 ? (
        <table className="data">
          <caption>Experts to invite, best first</caption>
          <thead>
            <tr>
              <th scope="col">Expert</th>
              <th scope="col">Why</th>
              <th scope="col">Calibration</th>
              <th scope="col">Hours a week</th>
              <th scope="col">Spare leases</th>
              <th scope="col">Unblocks</th>
              <th scope="col">Adjudicates</th>
            </tr>
          </thead>
          <tbody>
            {data.proposals.map((p) => (
              <tr key={p.expert_id}>
                <th scope="row">
                  {p.display_name} ({p.expert_id})
                </th>
                <td>{p.why.map((w) => WHY[w] ?? w).join(", ")}</td>
                <td>{p.calibration === null ? "no gold score yet" : percent(p.calibration)}</td>
                <td>{num(p.hours_per_week, 1)}</td>
                <td>{count(p.spare_leases)}</td>
                <td>{count(p.unblocks)}</td>
                <td>{p.adjudicates ? "Yes" : "No"}</td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
    </>
  );
}

function ProgressView({ data }: { data: Progress }) {
  const resolved = Object.entries(data.resolved).sort(([a], [b]) => a.localeCompare(b));
  const unitRows = [
    ["Review units", data.units],
    ["Adjudication units", data.adjudication_units],
  ] as const;
  return (
    <>
      <p>
        Status {data.status}: {count(data.items)} items, {count(data.unresolved)} unresolved.
      </p>
      <table className="data">
        <caption>Units by state</caption>
        <thead>
          <tr>
            <th scope="col">Units</th>
            <th scope="col">Open</th>
            <th scope="col">Leased</th>
            <th scope="col">Done</th>
          </tr>
        </thead>
        <tbody>
          {unitRows.map(([name, u]) => (
            <tr key={name}>
              <th scope="row">{name}</th>
              <td>{count(u.open ?? 0)}</td>
              <td>{count(u.leased ?? 0)}</td>
              <td>{count(u.done ?? 0)}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {resolved.length > 0 ? (
        <table className="data">
          <caption>Resolved items by method</caption>
          <tbody>
            {resolved.map(([method, n]) => (
              <tr key={method}>
                <th scope="row">{method}</th>
                <td>{count(n)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : (
        <p className="empty">No item resolved yet.</p>
      )}
    </>
  );
}
