// The dashboard's reads: one query key and one fetcher per endpoint. A 404 ("no data of this
// project yet") is an empty state, so it resolves to null; other failures throw ApiError.
import { ApiError, assignment, metrics, ok } from "../api/client";
import type { components as AssignmentSchemas } from "../api/assignment";
import type { components as MetricsSchemas } from "../api/metrics";
import { windowParam, type ActiveFilters } from "./filters";

type M = MetricsSchemas["schemas"];
type A = AssignmentSchemas["schemas"];
export type ProjectAgreement = M["ProjectAgreement"];
export type FieldAgreement = M["FieldAgreement"];
export type Estimate = M["Estimate"];
export type Rate = M["Rate"];
export type ProjectPairs = M["ProjectPairs"];
export type PairKappa = M["PairKappa"];
export type Throughput = M["ProjectThroughputBody"];
export type TenantQueue = M["TenantQueueOut"];
export type ProjectExperts = M["ProjectExpertsOut"];
export type ExpertQuality = M["ExpertQualityOut"];
export type ProjectPrelabels = M["ProjectPrelabels"];
export type ModelPrelabels = M["ModelPrelabels"];
export type AlertPage = M["AlertPage"];
export type Alert = M["AlertBody"];
export type Project = A["Project"];
export type Feedback = A["Feedback"];
export type Demand = A["DemandOut"];
export type Progress = A["Progress"];

type Answer<T> = { data?: T; error?: unknown; response: Response };

/** The data, or null when the service answers 404 (nothing of this project yet). */
export function orEmpty<T>(result: Answer<T>): T | null {
  if (result.response.status === 404) return null;
  return ok(result);
}

/** Retry what may pass on a second try (5xx, network), never a refusal (4xx). */
export function retryServerErrors(failures: number, error: Error): boolean {
  if (error instanceof ApiError && error.status < 500) return false;
  return failures < 2;
}

const rubric = (f: ActiveFilters) => f.rubricVersion ?? undefined;

export const keys = {
  projects: ["dashboard", "projects"] as const,
  agreement: (f: ActiveFilters) => ["dashboard", "agreement", f.project, f.window, f.rubricVersion] as const,
  pairs: (f: ActiveFilters) => ["dashboard", "pairs", f.project, f.window, f.rubricVersion] as const,
  throughput: (f: ActiveFilters) => ["dashboard", "throughput", f.project, f.window] as const,
  queue: ["dashboard", "queue"] as const,
  experts: (project: string) => ["dashboard", "experts", project] as const,
  prelabels: (project: string) => ["dashboard", "prelabels", project] as const,
  alerts: (project: string) => ["dashboard", "alerts", project] as const,
  feedback: (project: string) => ["dashboard", "feedback", project] as const,
  demand: (project: string) => ["dashboard", "demand", project] as const,
  progress: (project: string) => ["dashboard", "progress", project] as const,
};

/** The keys whose figures move with a judgment (refetched on each live agreement event). */
export function keysMovedByJudgments(project: string): readonly (readonly unknown[])[] {
  return [
    ["dashboard", "throughput", project],
    keys.queue,
    keys.experts(project),
    keys.prelabels(project),
    keys.alerts(project),
    ["dashboard", "pairs", project],
  ];
}

/** Every project of the tenant (pages of 200, by id). */
export async function fetchProjects(signal?: AbortSignal): Promise<Project[]> {
  const projects: Project[] = [];
  let cursor: string | undefined;
  for (let page = 0; page < 50; page++) {
    const body = ok(await assignment.GET("/v1/projects", { params: { query: { limit: 200, cursor } }, signal }));
    projects.push(...body.items);
    if (!body.next_cursor) break;
    cursor = body.next_cursor;
  }
  return projects;
}

export async function fetchAgreement(f: ActiveFilters, signal?: AbortSignal): Promise<ProjectAgreement | null> {
  return orEmpty(
    await metrics.GET("/v1/projects/{project_id}/agreement", {
      params: { path: { project_id: f.project }, query: { window: windowParam(f.window), rubric_version: rubric(f) } },
      signal,
    }),
  );
}

export async function fetchPairs(f: ActiveFilters, signal?: AbortSignal): Promise<ProjectPairs | null> {
  return orEmpty(
    await metrics.GET("/v1/projects/{project_id}/agreement/pairs", {
      params: { path: { project_id: f.project }, query: { window: windowParam(f.window), rubric_version: rubric(f) } },
      signal,
    }),
  );
}

export async function fetchThroughput(f: ActiveFilters, signal?: AbortSignal): Promise<Throughput | null> {
  return orEmpty(
    await metrics.GET("/v1/projects/{project_id}/throughput", {
      params: { path: { project_id: f.project }, query: { window: windowParam(f.window) } },
      signal,
    }),
  );
}

export async function fetchQueue(signal?: AbortSignal): Promise<TenantQueue> {
  return ok(await metrics.GET("/v1/queue", { signal }));
}

export async function fetchExperts(project: string, signal?: AbortSignal): Promise<ProjectExperts | null> {
  return orEmpty(await metrics.GET("/v1/projects/{project_id}/experts", { params: { path: { project_id: project } }, signal }));
}

export async function fetchPrelabels(project: string, signal?: AbortSignal): Promise<ProjectPrelabels | null> {
  return orEmpty(await metrics.GET("/v1/projects/{project_id}/prelabels", { params: { path: { project_id: project } }, signal }));
}

export const ALERTS_PAGE = 100;

export async function fetchAlerts(project: string, signal?: AbortSignal): Promise<AlertPage | null> {
  return orEmpty(
    await metrics.GET("/v1/projects/{project_id}/alerts", {
      params: { path: { project_id: project }, query: { limit: ALERTS_PAGE } },
      signal,
    }),
  );
}

/** The open guideline feedback of the project, oldest first (pages of 1,000). */
export async function fetchFeedback(project: string, signal?: AbortSignal): Promise<Feedback[]> {
  const items: Feedback[] = [];
  let cursor: string | undefined;
  for (let page = 0; page < 20; page++) {
    const body = ok(
      await assignment.GET("/v1/feedback", {
        params: { query: { status: "open", project_id: project, limit: 1000, cursor } },
        signal,
      }),
    );
    items.push(...body.items);
    if (!body.next_cursor) break;
    cursor = body.next_cursor;
  }
  return items;
}

export async function resolveFeedback(feedbackId: string, note: string): Promise<Feedback> {
  return ok(
    await assignment.POST("/v1/feedback/{feedback_id}/resolve", {
      params: { path: { feedback_id: feedbackId } },
      body: { note },
    }),
  );
}

export async function fetchDemand(project: string, signal?: AbortSignal): Promise<Demand | null> {
  return orEmpty(await assignment.GET("/v1/projects/{project_id}/demand", { params: { path: { project_id: project } }, signal }));
}

export async function fetchProgress(project: string, signal?: AbortSignal): Promise<Progress | null> {
  return orEmpty(await assignment.GET("/v1/projects/{project_id}/progress", { params: { path: { project_id: project } }, signal }));
}

/** The stream's URL on the console's origin: the session cookie authenticates it. */
export function streamUrl(f: ActiveFilters): string {
  const params = new URLSearchParams();
  const window = windowParam(f.window);
  if (window) params.set("window", window);
  if (f.rubricVersion !== null) params.set("rubric_version", String(f.rubricVersion));
  const query = params.toString();
  return `/api/metrics/v1/projects/${encodeURIComponent(f.project)}/agreement/stream${query ? `?${query}` : ""}`;
}
