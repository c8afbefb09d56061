// The expert's own record on the project: gold accuracy and agreement with outcomes, cut
// at the last UTC midnight (so no single unit's result can be read from it), with 95 %
// intervals.
import { useQuery } from "@tanstack/react-query";
import { ApiError, assignment, metrics, ok } from "../api/client";

interface Rate {
  value?: number | null;
  n: number;
  ci?: number[] | null;
  reason?: string | null;
}

function share(rate: Rate | undefined): string {
  if (!rate || rate.value == null) return rate?.reason ?? "no observation yet";
  const ci = rate.ci ? ` (95 % ${Math.round(rate.ci[0] * 100)}–${Math.round(rate.ci[1] * 100)} %)` : "";
  return `${Math.round(rate.value * 100)} % of ${rate.n}${ci}`;
}

export function Stats({ projectId, judged }: { projectId: string; judged: number }) {
  const quality = useQuery({
    queryKey: ["me-quality", projectId],
    queryFn: async () => ok(await metrics.GET("/v1/me/quality", { params: { query: { project_id: projectId } } })),
    retry: (n, e) => !(e instanceof ApiError && e.status < 500) && n < 2,
    staleTime: 60_000,
  });
  const calibration = useQuery({
    queryKey: ["me-calibration"],
    queryFn: async () => ok(await assignment.GET("/v1/me/calibration")),
    staleTime: 60_000,
  });
  return (
    <section className="panel" aria-labelledby="my-stats">
      <h2 id="my-stats">Your record</h2>
      <p>Judged in this session: {judged}</p>
      {quality.isPending ? <p>Loading…</p> : null}
      {quality.isError ? <p>{quality.error instanceof ApiError && quality.error.status === 404 ? "No record on this project yet." : quality.error.message}</p> : null}
      {quality.data ? (
        <dl>
          <dt>Gold accuracy</dt>
          <dd>{share(quality.data.gold_accuracy as Rate)}</dd>
          <dt>Verdicts matching the outcome</dt>
          <dd>{share(quality.data.outcome.verdict as Rate)}</dd>
          <dt>Classes matching the outcome</dt>
          <dd>{share(quality.data.outcome.class as Rate)}</dd>
          <dt>As of</dt>
          <dd>{new Date(quality.data.as_of).toUTCString()}</dd>
        </dl>
      ) : null}
      {calibration.data?.items.length ? (
        <table className="data">
          <caption>Your calibration on gold, by skill (released in batches)</caption>
          <thead>
            <tr>
              <th scope="col">Skill</th>
              <th scope="col">Rolling score</th>
              <th scope="col">Trend, oldest first</th>
            </tr>
          </thead>
          <tbody>
            {calibration.data.items.map((c) => (
              <tr key={c.skill}>
                <th scope="row">{c.skill}</th>
                <td>{c.mean == null ? "not enough gold yet" : `${Math.round(c.mean * 100)} % over ${c.count}`}</td>
                <td>
                  <Trend values={c.trend} />
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
    </section>
  );
}

/** A small line of the trend, with its values in words for screen readers. */
function Trend({ values }: { values: number[] }) {
  if (!values.length) return <span>none yet</span>;
  const width = 120;
  const height = 24;
  const points = values.map((v, i) => `${values.length === 1 ? width / 2 : (i / (values.length - 1)) * width},${height - v * height}`).join(" ");
  const words = values.map((v) => `${Math.round(v * 100)} %`).join(", ");
  return (
    <svg width={width} height={height} role="img" aria-label={`trend: ${words}`}>
      <polyline points={points} fill="none" stroke="#0072b2" strokeWidth={2} />
    </svg>
  );
}
