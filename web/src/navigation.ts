// The console's pages are client-side routes (the console service answers each with
// index.html); a change of page is a history entry.
import { useEffect, useState } from "react";

export type Page = "/signin" | "/workbench" | "/dashboard";

/** Show ``page``: a new history entry, or (``replace``) in place of the current one. */
export function go(page: Page, { replace = false }: { replace?: boolean } = {}): void {
  if (location.pathname !== page) history[replace ? "replaceState" : "pushState"](null, "", page);
  dispatchEvent(new PopStateEvent("popstate"));
}

export function usePath(): string {
  const [path, setPath] = useState(location.pathname);
  useEffect(() => {
    const moved = () => setPath(location.pathname);
    addEventListener("popstate", moved);
    return () => removeEventListener("popstate", moved);
  }, []);
  return path;
}
