// The services' APIs on the console's origin (services/console forwards /api/<service>/ with
// the session's token): one typed client per service, generated from its OpenAPI document
// (web/openapi, `make web-client`).
import createClient, { type Middleware } from "openapi-fetch";
import type { paths as AssignmentPaths } from "./assignment";
import type { paths as MetricsPaths } from "./metrics";
import type { paths as TaxonomyPaths } from "./taxonomy";

// A change needs this header: pages of other origins cannot send it (the CSRF guard).
const headers = { "x-quorum-console": "1" };

/** An answer that is not 2xx, with the problem+json body the services send. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly problem: Problem,
  ) {
    super(problem.detail ?? problem.title ?? `HTTP ${status}`);
  }
}

export interface Problem {
  title?: string;
  detail?: string | null;
  status?: number;
  errors?: { field: string; message: string }[] | null;
}

let onUnauthorized: () => void = () => {};
/** Called when a call finds the session gone (401): the app shows the sign-in. */
export function whenUnauthorized(callback: () => void): void {
  onUnauthorized = callback;
}

const signedOut: Middleware = {
  onResponse({ response }) {
    if (response.status === 401) onUnauthorized();
    return response;
  },
};

export const assignment = createClient<AssignmentPaths>({ baseUrl: "/api/assignment", headers });
export const metrics = createClient<MetricsPaths>({ baseUrl: "/api/metrics", headers });
export const taxonomy = createClient<TaxonomyPaths>({ baseUrl: "/api/taxonomy", headers });
for (const client of [assignment, metrics, taxonomy]) client.use(signedOut);

/** The data of an openapi-fetch answer, or an ApiError with its problem. */
export function ok<T>(result: { data?: T; error?: unknown; response: Response }): T {
  if (result.error !== undefined || !result.response.ok) {
    throw new ApiError(result.response.status, (result.error ?? {}) as Problem);
  }
  return result.data as T;
}
