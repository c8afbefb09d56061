// The expert's own record on the project: gold accuracy and agreement with outcomes, cut
// at the last UTC midnight (so no single unit's result can be read from it), with 95 %
// intervals.
import { useQuery } from "@tanstack/react-query";
import { ApiError, metrics, ok } from "../api/client";

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
    </section>
  );
}
