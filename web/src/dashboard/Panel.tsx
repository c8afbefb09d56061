// A dashboard panel: a labelled section with its h2, and the states of its reads (loading, an
// error from the API, an empty state for "no data yet", or the data).
import type { UseQueryResult } from "@tanstack/react-query";
import type { ReactNode } from "react";
import { ApiError } from "../api/client";

export function Panel({ id, title, children }: { id: string; title: string; children: ReactNode }) {
  const heading = `${id}-heading`;
  return (
    // focusable: a panel wider than the screen scrolls, and the keyboard must reach it
    <section className="panel" id={id} aria-labelledby={heading} tabIndex={0}>
      <h2 id={heading}>{title}</h2>
      {children}
    </section>
  );
}

/** The read's state; `children` gets the data once there is some. */
export function QueryView<T>({
  query,
  empty,
  isEmpty,
  children,
}: {
  query: UseQueryResult<T | null>;
  empty: ReactNode;
  isEmpty?: (data: T) => boolean;
  children: (data: T) => ReactNode;
}) {
  if (query.isPending) return <p className="loading">Loading…</p>;
  if (query.isError && query.data === undefined) return <ProblemText error={query.error} />;
  const data = query.data;
  if (data === null || data === undefined || (isEmpty && isEmpty(data))) return <p className="empty">{empty}</p>;
  return (
    <>
      {query.isError ? <ProblemText error={query.error} stale /> : null}
      {children(data)}
    </>
  );
}

/** An API error in words: the problem's detail, its status, and each field it names. */
export function ProblemText({ error, stale = false }: { error: unknown; stale?: boolean }) {
  const prefix = stale ? "Could not refresh (showing the last figures): " : "";
  if (error instanceof ApiError) {
    const what =
      error.status === 403
        ? "your role may not read this"
        : error.status === 503
          ? "the service cannot reach its database or broker; it retries shortly"
          : error.message;
    return (
      <div className="errors">
        <p>
          {prefix}
          {what} (HTTP {error.status}
          {error.problem.title && error.status !== 403 ? `, ${error.problem.title}` : ""})
        </p>
        {error.problem.errors?.length ? (
          <ul>
            {error.problem.errors.map((e) => (
              <li key={`${e.field}:${e.message}`}>
                {e.field}: {e.message}
              </li>
            ))}
          </ul>
        ) : null}
      </div>
    );
  }
  return (
    <p className="errors">
      {prefix}
      {error instanceof Error ? error.message : String(error)}
    </p>
  );
}

/** What a panel shows when the caller's role may not read its endpoint. */
export function NotForRole({ what }: { what: string }) {
  return <p className="empty">{what}</p>;
}
