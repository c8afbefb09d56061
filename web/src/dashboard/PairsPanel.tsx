// Cohen's kappa per expert pair as a heatmap (metrics GET /v1/projects/{id}/agreement/pairs:
// per field, the pairs a < b with unweighted, linear and quadratic kappa and percent
// agreement), the same numbers in a visually hidden table for screen readers.
import { useQuery } from "@tanstack/react-query";
import { useId, useMemo, useState } from "react";
import type { Role } from "../session";
import { may } from "./access";
import { Chart, type ChartOption } from "./Chart";
import type { ActiveFilters } from "./filters";
import { count, interval, num, shortReason } from "./format";
import { colour } from "./palette";
import { NotForRole, Panel, QueryView } from "./Panel";
import { fetchPairs, keys, retryServerErrors, type PairKappa, type ProjectPairs } from "./queries";

type Weighting = "unweighted" | "linear" | "quadratic";
const WEIGHTINGS: Weighting[] = ["unweighted", "linear", "quadratic"];

export function PairsPanel({ filters, role }: { filters: ActiveFilters; role: Role }) {
  const allowed = may(role, "pairs");
  const query = useQuery({
    queryKey: keys.pairs(filters),
    queryFn: ({ signal }) => fetchPairs(filters, signal),
    enabled: allowed,
    retry: retryServerErrors,
  });
  return (
    <Panel id="pairs" title="Expert-pair agreement (Cohen's kappa)">
      {allowed ? (
        <QueryView
          query={query}
          empty="No judgment in this project yet: no expert pair to compare."
          isEmpty={(d) => Object.values(d.fields).every((f) => f.pairs.length === 0)}
        >
          {(data) => <PairsView data={data} />}
        </QueryView>
      ) : (
        <NotForRole what="Expert pairs name experts: only ops and admin see them." />
      )}
    </Panel>
  );
}

function PairsView({ data }: { data: ProjectPairs }) {
  const id = useId();
  const fieldNames = useMemo(
    () => Object.keys(data.fields).filter((f) => data.fields[f].pairs.length > 0).sort(preferred),
    [data],
  );
  const [chosen, setChosen] = useState<string | null>(null);
  const [weighting, setWeighting] = useState<Weighting>("unweighted");
  const field = chosen !== null && fieldNames.includes(chosen) ? chosen : fieldNames[0];
  const pairs = data.fields[field]?.pairs ?? [];
  return (
    <>
      <div className="filters">
        <label htmlFor={`${id}-field`}>
          Field
          <select id={`${id}-field`} value={field} onChange={(e) => setChosen(e.target.value)}>
            {fieldNames.map((f) => (
              <option key={f} value={f}>
                {f}
              </option>
            ))}
          </select>
        </label>
        <label htmlFor={`${id}-weights`}>
          Kappa
          <select id={`${id}-weights`} value={weighting} onChange={(e) => setWeighting(e.target.value as Weighting)}>
            {WEIGHTINGS.map((w) => (
              <option key={w} value={w}>
                {w}
              </option>
            ))}
          </select>
        </label>
      </div>
      <PairsHeatmap field={field} pairs={pairs} weighting={weighting} />
    </>
  );
}

/** The class and verdict fields first: the ones every project has. */
function preferred(a: string, b: string): number {
  const rank = (f: string) => (f === "class" ? 0 : f === "verdict" ? 1 : 2);
  return rank(a) - rank(b) || a.localeCompare(b);
}

function PairsHeatmap({ field, pairs, weighting }: { field: string; pairs: PairKappa[]; weighting: Weighting }) {
  const experts = useMemo(() => [...new Set(pairs.flatMap((p) => [p.a, p.b]))].sort(), [pairs]);
  const option = useMemo<ChartOption>(() => {
    const index = new Map(experts.map((e, i) => [e, i]));
    const cells = pairs.flatMap((p) => {
      const value = p[weighting].value;
      const v = value === null ? "-" : value;
      const a = index.get(p.a)!;
      const b = index.get(p.b)!;
      return [
        [a, b, v],
        [b, a, v],
      ];
    });
    return {
      tooltip: { position: "top" },
      grid: { left: 8, right: 8, top: 8, bottom: 64, containLabel: true },
      xAxis: { type: "category", data: experts, splitArea: { show: true }, axisLabel: { rotate: experts.length > 3 ? 45 : 0, width: 110, overflow: "truncate" } },
      yAxis: { type: "category", data: experts, splitArea: { show: true }, axisLabel: { width: 120, overflow: "truncate" } },
      visualMap: {
        type: "continuous",
        min: -1,
        max: 1,
        calculable: true,
        orient: "horizontal",
        left: "center",
        bottom: 0,
        text: ["1 (perfect)", "-1"],
        inRange: { color: [colour("vermillion"), "#ffffff", colour("blue")] },
      },
      series: [
        {
          type: "heatmap",
          name: `Cohen's kappa (${weighting})`,
          data: cells,
          // values in the cells while they are legible; the tooltip and the table give them all
          label: { show: experts.length <= 8, formatter: (p) => formatCell((p.value as unknown[])[2]) },
          emphasis: { itemStyle: { borderColor: "#1a1a1a", borderWidth: 1 } },
        },
      ],
    };
  }, [experts, pairs, weighting]);
  const label =
    `Heatmap of ${weighting} Cohen's kappa on ${field} for ${pairs.length} expert pairs, ` +
    `from -1 (vermillion) through 0 (white) to 1 (blue); the table under "Kappa of every pair" gives every value. ` +
    pairs.map((p) => `${p.a} and ${p.b}: ${num(p[weighting].value, 2)}`).join("; ");
  return (
    <>
      <Chart option={option} label={label} height={experts.length > 6 ? "18rem" : "16rem"} />
      <details>
        <summary>Kappa of every pair on {field}</summary>
        <table className="data">
          <caption>Cohen's kappa per expert pair on {field}, with 95 % intervals</caption>
          <thead>
            <tr>
              <th scope="col">Pair</th>
              <th scope="col">Items both judged</th>
              <th scope="col">Unweighted</th>
              <th scope="col">Linear</th>
              <th scope="col">Quadratic</th>
              <th scope="col">Percent agreement</th>
            </tr>
          </thead>
          <tbody>
            {pairs.map((p) => (
              <tr key={`${p.a}|${p.b}`}>
                <th scope="row">
                  {p.a} and {p.b}
                </th>
                <td className="num">{count(p.n)}</td>
                {([p.unweighted, p.linear, p.quadratic, p.percent_agreement] as const).map((e, i) => (
                  <td key={i}>
                    {e.value === null ? (
                      <>
                        no value<span className="sub">{shortReason(e.reason)}</span>
                      </>
                    ) : (
                      <>
                        <span className="nowrap">{num(e.value)}</span>
                        {e.ci ? <span className="sub">{interval(e.ci, 2)}</span> : null}
                      </>
                    )}
                  </td>
                ))}
              </tr>
            ))}
          </tbody>
        </table>
      </details>
    </>
  );
}

function formatCell(value: unknown): string {
  return typeof value === "number" ? value.toFixed(2) : "n/a";
}
