// The dashboard's filters, kept in the URL's query string (history.replaceState) so a reload
// keeps them: ?project=&window=&rubric_version=.
import { useCallback, useState } from "react";
import type { components } from "../api/metrics";

/** The windows metrics' agreement and throughput endpoints accept (the `Window` enum). */
export type MetricsWindow = components["schemas"]["Window"];
export const WINDOWS = ["1h", "24h", "7d"] as const satisfies readonly MetricsWindow[];
/** `all`: no window: agreement over all time; throughput then uses its own default (24h). */
export type WindowChoice = MetricsWindow | "all";

export interface Filters {
  project: string | null;
  window: WindowChoice;
  rubricVersion: number | null;
}

/** The filters with a project chosen: what every panel reads. */
export interface ActiveFilters extends Filters {
  project: string;
}

export const DEFAULT_WINDOW: WindowChoice = "24h";

export function readFilters(search: string = location.search): Filters {
  const params = new URLSearchParams(search);
  const window = params.get("window");
  const rubric = params.get("rubric_version");
  const version = rubric !== null && /^\d+$/.test(rubric) ? Number(rubric) : null;
  return {
    project: params.get("project") || null,
    window: window === "all" || (WINDOWS as readonly string[]).includes(window ?? "") ? (window as WindowChoice) : DEFAULT_WINDOW,
    rubricVersion: version !== null && Number.isSafeInteger(version) ? version : null,
  };
}

export function writeFilters(filters: Filters): void {
  const params = new URLSearchParams(location.search);
  if (filters.project) params.set("project", filters.project);
  else params.delete("project");
  params.set("window", filters.window);
  if (filters.rubricVersion !== null) params.set("rubric_version", String(filters.rubricVersion));
  else params.delete("rubric_version");
  const query = params.toString();
  history.replaceState(history.state, "", `${location.pathname}${query ? `?${query}` : ""}${location.hash}`);
}

export function useFilters(): [Filters, (change: Partial<Filters>) => void] {
  const [filters, setFilters] = useState<Filters>(() => readFilters());
  const update = useCallback((change: Partial<Filters>) => {
    setFilters((current) => {
      const next = { ...current, ...change };
      writeFilters(next);
      return next;
    });
  }, []);
  return [filters, update];
}

/** The metrics `window` query parameter: absent for all time. */
export function windowParam(choice: WindowChoice): MetricsWindow | undefined {
  return choice === "all" ? undefined : choice;
}
