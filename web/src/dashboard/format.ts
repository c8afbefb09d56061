// Numbers and times as text: every figure a chart shows is also written out.

export function num(value: number | null | undefined, digits = 3): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return "no value";
  return value.toFixed(digits);
}

export function count(value: number | null | undefined): string {
  if (value === null || value === undefined) return "no value";
  return value.toLocaleString();
}

export function percent(value: number | null | undefined, digits = 1): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return "no value";
  return `${(value * 100).toFixed(digits)} %`;
}

/** A 95 % interval `[lo, hi]` as text ("0.410 to 0.620"), or "none". */
export function interval(ci: readonly number[] | null | undefined, digits = 3, asPercent = false): string {
  if (!ci || ci.length < 2) return "none";
  const show = (v: number) => (asPercent ? percent(v, digits === 3 ? 1 : digits) : num(v, digits));
  return `${show(ci[0])} to ${show(ci[1])}`;
}

/** A reason's first clause ("the paired judgments do not vary: expected …" → its first part). */
export function shortReason(reason: string | null | undefined): string {
  if (!reason) return "cannot be computed";
  const cut = reason.search(/[:;(]/);
  return (cut > 0 ? reason.slice(0, cut) : reason).trim();
}

/** Seconds as "45 s", "12 min 5 s", "3 h 20 min", "2 d 4 h". */
export function duration(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined || !Number.isFinite(seconds)) return "no value";
  const s = Math.round(seconds);
  if (s < 60) return `${seconds < 10 ? seconds.toFixed(1) : s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ${s % 60} s`;
  const h = Math.floor(m / 60);
  if (h < 48) return `${h} h ${m % 60} min`;
  return `${Math.floor(h / 24)} d ${h % 24} h`;
}

export function when(iso: string | null | undefined): string {
  if (!iso) return "never";
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? iso : date.toLocaleString();
}

/** A figure `{value, ci, reason}` as one line of text. */
export function figure(
  estimate: { value: number | null; ci?: readonly number[] | null; reason?: string | null } | null | undefined,
  asPercent = false,
): string {
  if (!estimate) return "no value";
  if (estimate.value === null) return `no value${estimate.reason ? ` (${estimate.reason})` : ""}`;
  const value = asPercent ? percent(estimate.value) : num(estimate.value);
  return estimate.ci ? `${value} (95 % interval ${interval(estimate.ci, 3, asPercent)})` : value;
}
