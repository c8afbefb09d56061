// Who may read what: the `x-roles` of each operation in web/openapi/*.json. A panel whose
// endpoint the caller's role may not read says so instead of asking (and showing a 403).
import type { Role } from "../session";

const ROLES = {
  projects: ["admin", "ops"], // assignment GET /v1/projects
  feedback: ["admin", "ops"], // assignment GET /v1/feedback, POST /v1/feedback/{id}/resolve
  demand: ["admin", "ops"], // assignment GET /v1/projects/{id}/demand
  progress: ["admin", "client", "ops"], // assignment GET /v1/projects/{id}/progress
  agreement: ["admin", "client", "ops"], // metrics GET .../agreement and .../agreement/stream
  pairs: ["admin", "ops"], // metrics GET .../agreement/pairs (names experts)
  alerts: ["admin", "client", "ops"], // metrics GET .../alerts (clients: without expert alerts)
  experts: ["admin", "ops"], // metrics GET .../experts (names experts)
  prelabels: ["admin", "client", "ops"], // metrics GET .../prelabels
  throughput: ["admin", "client", "ops"], // metrics GET .../throughput (clients: experts null)
  queue: ["admin", "ops"], // metrics GET /v1/queue
} as const satisfies Record<string, readonly Role[]>;

export type Endpoint = keyof typeof ROLES;

export function may(role: Role, endpoint: Endpoint): boolean {
  return (ROLES[endpoint] as readonly Role[]).includes(role);
}
