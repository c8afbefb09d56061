// Whether the figures are live, in words (never colour alone); `data-events` counts the
// agreement events received.
import type { LiveState } from "./useAgreementStream";

const TEXT: Record<LiveState, string> = {
  connecting: "Connecting…",
  live: "Live",
  reconnecting: "Reconnecting…",
  waiting: "Waiting for the first judgment",
};

const DETAIL: Record<LiveState, string> = {
  connecting: "",
  live: "agreement updates as judgments arrive",
  reconnecting: "figures refreshed every 5 s meanwhile",
  waiting: "no judgment in this project yet; checking every 5 s",
};

export function LiveIndicator({ state, events }: { state: LiveState; events: number }) {
  return (
    <p className={`live live-${state}`} role="status" data-events={events} data-state={state}>
      <span aria-hidden="true" className="live-dot">
        {state === "live" ? "●" : "○"}{" "}
      </span>
      <strong>{TEXT[state]}</strong>
      {DETAIL[state] ? <span className="anchor"> — {DETAIL[state]}</span> : null}
    </p>
  );
}
