// The operations dashboard: filters (kept in the URL), the live agreement stream, and one panel
// per concern (components under ../dashboard/).
//
// Drift: the metrics API gives one drift series, each expert's weekly gold accuracy (`trend` of
// GET /v1/projects/{id}/experts), charted in the Experts panel against the expert's overall gold
// accuracy (the baseline). Drift of the resolved labels and of the pre-label confidences has no
// series endpoint: it exists only as `drift` alerts (GET /v1/projects/{id}/alerts), whose
// evidence compares a baseline block of 200 resolved items with the current block (per-class
// shares, PSI, Jensen–Shannon, the test); the Alerts panel shows those, not a series over time.
import { useQuery } from "@tanstack/react-query";
import { useEffect, useMemo } from "react";
import { may } from "../dashboard/access";
import { AgreementPanel } from "../dashboard/AgreementPanel";
import { AlertsPanel } from "../dashboard/AlertsPanel";
import { ExpertsPanel } from "../dashboard/ExpertsPanel";
import { FeedbackPanel } from "../dashboard/FeedbackPanel";
import { useFilters, type ActiveFilters } from "../dashboard/filters";
import { FiltersForm } from "../dashboard/FiltersForm";
import { LiveIndicator } from "../dashboard/LiveIndicator";
import { PairsPanel } from "../dashboard/PairsPanel";
import { ProblemText } from "../dashboard/Panel";
import { PrelabelsPanel } from "../dashboard/PrelabelsPanel";
import { fetchProjects, keys, retryServerErrors } from "../dashboard/queries";
import { StaffingPanel } from "../dashboard/StaffingPanel";
import { ThroughputPanel } from "../dashboard/ThroughputPanel";
import { useAgreementStream } from "../dashboard/useAgreementStream";
import type { Session } from "../session";
import "../dashboard/dashboard.css";

export function Dashboard({ session }: { session: Session }) {
  const [filters, setFilters] = useFilters();
  const canList = may(session.role, "projects");
  const projects = useQuery({
    queryKey: keys.projects,
    queryFn: ({ signal }) => fetchProjects(signal),
    enabled: canList,
    retry: retryServerErrors,
  });

  // The project: the URL's when the tenant has it, else the first; a client (who may not list
  // projects) types its id.
  const listed = projects.data;
  const project = !canList
    ? filters.project
    : listed === undefined
      ? null
      : listed.some((p) => p.project_id === filters.project)
        ? filters.project
        : (listed[0]?.project_id ?? null);
  useEffect(() => {
    if (canList && listed !== undefined && project !== filters.project) setFilters({ project });
  }, [canList, listed, project, filters.project, setFilters]);

  const active = useMemo<ActiveFilters | null>(
    () => (project === null ? null : { project, window: filters.window, rubricVersion: filters.rubricVersion }),
    [project, filters.window, filters.rubricVersion],
  );
  const live = useAgreementStream(active);

  return (
    <main className="operations">
      <h1>Operations dashboard</h1>
      <FiltersForm
        filters={{ ...filters, project }}
        projects={canList ? (listed ?? []) : null}
        projectsNote={canList && projects.isPending ? "Loading projects…" : undefined}
        onChange={setFilters}
      />
      {canList && projects.isError ? <ProblemText error={projects.error} /> : null}
      {active === null ? (
        canList && projects.isPending ? null : (
          <p className="empty">
            {canList ? "No project in your tenant yet: create one to see its figures." : "Type a project id to see its figures."}
          </p>
        )
      ) : (
        <>
          <LiveIndicator state={live.state} events={live.events} />
          <div className="dashboard">
            <ThroughputPanel filters={active} role={session.role} current={active.project} />
            <AgreementPanel filters={active} polling={live.state !== "live"} />
            <PairsPanel filters={active} role={session.role} />
            <PrelabelsPanel project={active.project} />
            <AlertsPanel project={active.project} />
            <ExpertsPanel project={active.project} role={session.role} />
            <FeedbackPanel project={active.project} role={session.role} />
            <StaffingPanel project={active.project} role={session.role} />
          </div>
        </>
      )}
    </main>
  );
}
