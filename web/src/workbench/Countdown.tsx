// The lease's time left: shown every second, announced to screen readers only when it
// matters (two minutes, one minute, ten seconds left, and when it ends).
import { useEffect, useRef, useState } from "react";
import type { LeaseState } from "./work";

const MARKS = [120, 60, 10];

export function Countdown({ expiresAt, now, state }: { expiresAt: number; now: number; state: LeaseState }) {
  const left = Math.max(0, Math.round((expiresAt - now) / 1000));
  const [announced, setAnnounced] = useState("");
  const said = useRef(new Set<number>());
  useEffect(() => {
    if (state === "lost") {
      setAnnounced("Your lease has ended. Your answers are kept in this browser.");
      return;
    }
    for (const mark of MARKS) {
      if (left <= mark && left > mark - 5 && !said.current.has(mark)) {
        said.current.add(mark);
        setAnnounced(
          mark >= 60
            ? `${mark / 60} minute${mark > 60 ? "s" : ""} left on this unit${state === "final" ? ": it cannot be extended, submit soon" : ""}`
            : `${mark} seconds left on this unit`,
        );
      }
    }
  }, [left, state]);
  const minutes = Math.floor(left / 60);
  const seconds = String(left % 60).padStart(2, "0");
  const warning = state !== "live" || left <= 60;
  return (
    <>
      <span className={`countdown${warning ? " warning" : ""}`} data-testid="countdown">
        {state === "lost" ? "Lease ended" : `Lease: ${minutes}:${seconds} left${state === "final" ? " (final)" : ""}`}
      </span>
      <span className="visually-hidden" role="status" aria-live="polite">
        {announced}
      </span>
    </>
  );
}
