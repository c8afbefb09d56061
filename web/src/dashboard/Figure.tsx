// A figure in a table cell, compact: the value on one line, its 95 % interval (or why it has no
// value) under it in small print.
import { interval, num, percent, shortReason } from "./format";

export interface Figured {
  value: number | null;
  ci?: readonly number[] | null;
  reason?: string | null;
  n?: number;
}

export function Fig({ estimate, asPercent = false, n = false }: { estimate: Figured | null | undefined; asPercent?: boolean; n?: boolean }) {
  if (!estimate) return <>no value</>;
  if (estimate.value === null) {
    return (
      <>
        no value<span className="sub">{shortReason(estimate.reason)}</span>
      </>
    );
  }
  const sub = [estimate.ci ? interval(estimate.ci, asPercent ? 1 : 2, asPercent) : null, n && estimate.n !== undefined ? `n ${estimate.n.toLocaleString()}` : null]
    .filter(Boolean)
    .join(", ");
  return (
    <>
      <span className="nowrap">{asPercent ? percent(estimate.value) : num(estimate.value)}</span>
      {sub ? <span className="sub">{sub}</span> : null}
    </>
  );
}
