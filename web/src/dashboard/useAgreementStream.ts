// The live agreement stream (metrics' Server-Sent Events, same origin: the session cookie
// authenticates it; no token in the URL). Each `agreement` event's figures go into the agreement
// panel's cache and the panels whose figures move with judgments are refetched.
//
// EventSource reports only "error": a stream that never opened and is closed means the server
// refused it — 404 before the project's first judgment, or the service is down. The hook then
// asks GET agreement once to tell the two apart ("waiting" on a 404), the agreement panel polls
// every 5 s while the stream is not live, and the stream is tried again every 10 s. A stream
// that was open and drops is left to the browser's own reconnection (the server's `retry:`).
import { useQueryClient } from "@tanstack/react-query";
import { useEffect, useState } from "react";
import type { ActiveFilters } from "./filters";
import { fetchAgreement, keys, keysMovedByJudgments, streamUrl, type ProjectAgreement } from "./queries";

export type LiveState = "connecting" | "live" | "reconnecting" | "waiting";

export const POLL_MS = 5_000;
export const RETRY_MS = 10_000;
/** Refetch the other panels at most this often (a burst of judgments is one refetch, then one more). */
const INVALIDATE_MS = 2_000;
const CLOSED = 2; // EventSource.CLOSED

export function useAgreementStream(filters: ActiveFilters | null): { state: LiveState; events: number } {
  const client = useQueryClient();
  const [state, setState] = useState<LiveState>("connecting");
  const [events, setEvents] = useState(0);
  const project = filters?.project ?? null;
  const window = filters?.window ?? null;
  const rubricVersion = filters?.rubricVersion ?? null;

  useEffect(() => {
    if (project === null || window === null) return;
    const active: ActiveFilters = { project, window, rubricVersion };
    const key = keys.agreement(active);
    let stopped = false;
    let source: EventSource | null = null;
    let generation = 0;
    let retryTimer: ReturnType<typeof setTimeout> | undefined;
    let invalidateTimer: ReturnType<typeof setTimeout> | undefined;
    let lastInvalidated = 0;
    setState("connecting");

    const invalidateNow = () => {
      lastInvalidated = Date.now();
      invalidateTimer = undefined;
      for (const queryKey of keysMovedByJudgments(project)) {
        void client.invalidateQueries({ queryKey }, { cancelRefetch: false });
      }
    };
    const invalidate = () => {
      if (invalidateTimer !== undefined) return; // a refetch is already due
      const wait = lastInvalidated + INVALIDATE_MS - Date.now();
      if (wait <= 0) invalidateNow();
      else invalidateTimer = setTimeout(invalidateNow, wait);
    };

    const connect = () => {
      if (stopped) return;
      const mine = ++generation;
      let opened = false;
      const stream = new EventSource(streamUrl(active));
      source = stream;
      stream.addEventListener("open", () => {
        if (stopped || mine !== generation) return;
        opened = true;
        setState("live");
      });
      stream.addEventListener("agreement", (event) => {
        if (stopped || mine !== generation) return;
        let figures: ProjectAgreement;
        try {
          figures = JSON.parse((event as MessageEvent<string>).data) as ProjectAgreement;
        } catch {
          return; // not the documented one-line JSON: ignore it
        }
        client.setQueryData(key, figures);
        setEvents((n) => n + 1);
        setState("live");
        invalidate();
      });
      stream.addEventListener("error", () => {
        if (stopped || mine !== generation) return;
        if (opened && stream.readyState !== CLOSED) {
          setState("reconnecting"); // the browser reconnects by itself
          return;
        }
        stream.close();
        source = null;
        setState((s) => (s === "waiting" ? "waiting" : "reconnecting"));
        client.fetchQuery({ queryKey: key, queryFn: ({ signal }) => fetchAgreement(active, signal), staleTime: 0 }).then(
          (figures) => {
            if (!stopped && mine === generation && source === null) setState(figures === null ? "waiting" : "reconnecting");
          },
          () => {
            if (!stopped && mine === generation && source === null) setState("reconnecting");
          },
        );
        retryTimer = setTimeout(connect, RETRY_MS);
      });
    };
    connect();

    return () => {
      stopped = true;
      source?.close();
      clearTimeout(retryTimer);
      clearTimeout(invalidateTimer);
    };
  }, [client, project, window, rubricVersion]);

  return { state: project === null ? "connecting" : state, events };
}
