// The expert's units: the one shown, up to two more leased ahead with their media warm (so
// the next one shows at once), heartbeats while the tab holds them, and their release when
// the page is left.
import { useCallback, useEffect, useRef, useState } from "react";
import { ApiError, assignment, ok } from "../api/client";
import { partsOf, type HandedOut, type ReleaseReason } from "./types";

export const PREFETCH = 2;
/** a unit leased ahead is handed on only with this much of its lease left */
const FRESH_ENOUGH_MS = 15_000;
const TICK_MS = 1_000;

export type LeaseState = "live" | "final" | "lost";

export interface Held {
  unit: HandedOut;
  expiresAt: number;
  /** the lease's TTL as first handed out: a heartbeat is due when half of it is gone */
  ttlMs: number;
  state: LeaseState;
}

export interface Waiting {
  reason: string;
  retryAfterS: number;
}

async function lease(): Promise<HandedOut | Waiting> {
  const result = await assignment.POST("/v1/work:next");
  if (result.response.status === 204) {
    return {
      reason: result.response.headers.get("Quorum-No-Work-Reason") ?? "nothing_left",
      retryAfterS: Number(result.response.headers.get("Retry-After") ?? "5"),
    };
  }
  return ok(result) as HandedOut;
}

function held(unit: HandedOut): Held {
  const expiresAt = Date.parse(unit.expires_at);
  return { unit, expiresAt, ttlMs: Math.max(5_000, expiresAt - Date.now()), state: "live" };
}

/** Media of a unit fetched ahead: images decoded, video and audio metadata and peaks loaded. */
function warm(unit: HandedOut): void {
  for (const part of partsOf(unit)) {
    const url = part.link?.url;
    if (!url) continue;
    if (part.media.modality === "image") {
      const image = new Image();
      image.src = url;
      void image.decode().catch(() => {});
    } else if (part.media.modality === "video" || part.media.modality === "audio") {
      const element = document.createElement(part.media.modality);
      element.preload = "auto";
      element.src = url;
      if (part.link?.peaks_url) void fetch(part.link.peaks_url).catch(() => {});
    } else {
      void fetch(url).catch(() => {});
    }
  }
}

export function releaseOnLeaving(leaseIds: string[]): void {
  for (const id of leaseIds) {
    // keepalive: the request outlives the page
    void fetch(`/api/assignment/v1/me/leases/${encodeURIComponent(id)}/release`, {
      method: "POST",
      keepalive: true,
      headers: { "content-type": "application/json", "x-quorum-console": "1" },
      body: JSON.stringify({ reason: "skip", note: "left the workbench" }),
    }).catch(() => {});
  }
}

export function useWork() {
  const [current, setCurrent] = useState<Held | null>(null);
  const [ahead, setAhead] = useState<Held[]>([]);
  const [waiting, setWaiting] = useState<Waiting | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [now, setNow] = useState(Date.now());
  // held leases are changed in place (heartbeats answer after renders): this re-renders
  const [, setVersion] = useState(0);
  const busy = useRef(false);
  const startedUnits = useRef(new Set<string>());
  const state = useRef({ current, ahead });
  state.current = { current, ahead };

  const fillAhead = useCallback(async () => {
    if (busy.current) return;
    busy.current = true;
    try {
      while (state.current.ahead.length < PREFETCH && state.current.current) {
        const got = await lease();
        if ("reason" in got) break;
        warm(got);
        const next = held(got);
        state.current.ahead = [...state.current.ahead, next];
        setAhead(state.current.ahead);
      }
    } catch (e) {
      setError((e as Error).message);
    } finally {
      busy.current = false;
    }
  }, []);

  /** Show the next unit: one leased ahead when it still has time, else a new lease. */
  const take = useCallback(async () => {
    setError(null);
    let queue = state.current.ahead;
    while (queue.length && queue[0].expiresAt - Date.now() < FRESH_ENOUGH_MS) queue = queue.slice(1);
    if (queue.length) {
      const [next, ...rest] = queue;
      state.current = { current: next, ahead: rest };
      setAhead(rest);
      setCurrent(next);
      setWaiting(null);
      void fillAhead();
      return;
    }
    try {
      const got = await lease();
      if ("reason" in got) {
        setWaiting(got);
        setCurrent(null);
        return;
      }
      setWaiting(null);
      const next = held(got);
      state.current = { current: next, ahead: [] };
      setAhead([]);
      setCurrent(next);
      void fillAhead();
    } catch (e) {
      setError(e instanceof ApiError ? e.message : `the workbench could not reach the service: ${(e as Error).message}`);
    }
  }, [fillAhead]);

  const release = useCallback(
    async (reason: ReleaseReason, note: string) => {
      const held = state.current.current;
      if (!held) return;
      await assignment.POST("/v1/me/leases/{lease_id}/release", {
        params: { path: { lease_id: held.unit.lease_id } },
        body: { reason, note },
      });
      await take();
    },
    [take],
  );

  // a clock for the countdowns; heartbeats for every lease held, at half its TTL
  useEffect(() => {
    const timer = setInterval(() => {
      const t = Date.now();
      setNow(t);
      const all = [state.current.current, ...state.current.ahead].filter((h): h is Held => h !== null);
      for (const h of all) {
        if (h.state !== "lost" && h.expiresAt <= t) markLost(h);
        if (h.state !== "live" || document.visibilityState === "hidden") continue;
        if (h.expiresAt - t > h.ttlMs / 2) continue;
        h.state = "final"; // no second heartbeat while one is out
        void assignment
          .POST("/v1/me/leases/{lease_id}/heartbeat", { params: { path: { lease_id: h.unit.lease_id } } })
          .then((result) => {
            if (result.response.ok && result.data) {
              h.expiresAt = Date.parse(result.data.expires_at);
              h.state = "live";
            } else if (result.error?.errors?.some((e) => e.message === "at its maximum life")) {
              h.state = "final"; // kept until it ends: submit before then
            } else {
              markLost(h);
            }
            refresh();
          })
          .catch(() => {
            h.state = "live"; // the network: try again on the next tick
          });
      }
      for (const h of state.current.ahead) if (h.state === "lost") dropAhead(h);
    }, TICK_MS);
    function markLost(h: Held) {
      h.state = "lost";
      refresh();
    }
    function dropAhead(h: Held) {
      state.current.ahead = state.current.ahead.filter((x) => x !== h);
      setAhead(state.current.ahead);
      void fillAhead();
    }
    function refresh() {
      setVersion((v) => v + 1);
    }
    return () => clearInterval(timer);
  }, [fillAhead]);

  // leaving the page gives back the units not started; a started one stays held, without
  // heartbeats, until its lease ends: a reload resumes it with its draft
  useEffect(() => {
    const leave = () =>
      releaseOnLeaving(
        [state.current.current, ...state.current.ahead]
          .filter((h): h is Held => h !== null && h.state !== "lost" && !startedUnits.current.has(h.unit.unit_id))
          .map((h) => h.unit.lease_id),
      );
    addEventListener("pagehide", leave);
    return () => removeEventListener("pagehide", leave);
  }, []);

  /** On opening the workbench: the units this expert still holds (a reload, a closed tab),
   * the first shown and the rest next; else a new one. */
  const resume = useCallback(async () => {
    try {
      const result = await assignment.GET("/v1/me/units");
      const units = result.response.ok && result.data ? (result.data.units as unknown as HandedOut[]) : [];
      const fresh = units.map(held).filter((h) => h.expiresAt - Date.now() > 2_000);
      if (fresh.length) {
        const [first, ...rest] = fresh;
        rest.forEach((h) => warm(h.unit));
        state.current = { current: first, ahead: rest };
        setAhead(rest);
        setCurrent(first);
        void fillAhead();
        return;
      }
    } catch {
      // the service will say more on the handout
    }
    await take();
  }, [take, fillAhead]);

  /** The shown unit has answers in it: leaving the page keeps it (its draft is here). */
  const started = useCallback(() => {
    if (state.current.current) startedUnits.current.add(state.current.current.unit.unit_id);
  }, []);

  const finished = useCallback(() => {
    // the shown unit was judged: its lease ended with the judgment
    if (state.current.current) state.current.current.state = "lost";
  }, []);

  return { current, ahead, waiting, error, now, take, resume, release, started, finished };
}
