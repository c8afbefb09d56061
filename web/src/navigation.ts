// The console's pages are client-side routes (the console service answers each with
// index.html); a change of page is a history entry.
import { useEffect, useState } from "react";

export type Page = "/signin" | "/workbench" | "/dashboard";

export function go(page: Page): void {
  if (location.pathname !== page) history.pushState(null, "", page);
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
