import { useQuery, useQueryClient } from "@tanstack/react-query";
import { lazy, Suspense, useEffect } from "react";
import { whenUnauthorized } from "./api/client";
import { go, usePath } from "./navigation";
import { SignIn } from "./pages/SignIn";
import { currentSession, signOut, type Session } from "./session";

// each page is its own chunk: an expert's workbench never downloads the dashboard's charts
const Dashboard = lazy(() => import("./pages/Dashboard").then((m) => ({ default: m.Dashboard })));
const Workbench = lazy(() => import("./pages/Workbench").then((m) => ({ default: m.Workbench })));

export function App() {
  const path = usePath();
  const client = useQueryClient();
  const session = useQuery({ queryKey: ["session"], queryFn: currentSession, retry: 1 });
  useEffect(() => whenUnauthorized(() => client.setQueryData(["session"], null)), [client]);
  // "/" with a session (where the identity provider's sign-in lands): the role's page
  const landing = path === "/" && session.data ? homeOf(session.data) : null;
  useEffect(() => {
    if (landing) go(landing, { replace: true });
  }, [landing]);

  if (session.isPending)
    return (
      <main>
        <p role="status">Loading…</p>
      </main>
    );
  if (session.isError) {
    return (
      <main>
        <h1>Quorum</h1>
        <p role="alert">The console does not answer: is `make run` running? Reload to try again.</p>
      </main>
    );
  }
  const who = session.data;
  if (!who || path === "/signin") {
    return <SignIn session={who} onSignedIn={(s) => landOn(s)} />;
  }
  if (landing)
    return (
      <main>
        <p role="status">Loading…</p>
      </main>
    );
  return (
    <>
      <header className="bar">
        <span className="brand">Quorum</span>
        <nav aria-label="Pages">
          {who.role === "expert" ? (
            <a href="/workbench" aria-current={path === "/workbench" ? "page" : undefined} onClick={link("/workbench")}>
              Workbench
            </a>
          ) : (
            <a href="/dashboard" aria-current={path === "/dashboard" ? "page" : undefined} onClick={link("/dashboard")}>
              Dashboard
            </a>
          )}
        </nav>
        <span className="who">
          {who.subject} · {who.role} · {who.tenant}
        </span>
        <button
          type="button"
          onClick={async () => {
            await signOut();
            client.setQueryData(["session"], null);
            go("/signin");
          }}
        >
          Sign out
        </button>
      </header>
      <Suspense
        fallback={
          <main>
            <p role="status">Loading the page…</p>
          </main>
        }
      >
        {path === "/dashboard" && who.role !== "expert" ? <Dashboard session={who} /> : null}
        {path === "/workbench" && who.role === "expert" ? <Workbench session={who} /> : null}
      </Suspense>
      {(path === "/dashboard" && who.role === "expert") || (path === "/workbench" && who.role !== "expert") ? (
        <main>
          <p role="alert">This page is not for your role ({who.role}).</p>
        </main>
      ) : null}
    </>
  );

  function landOn(s: Session) {
    client.setQueryData(["session"], s);
    go(homeOf(s));
  }
}

function homeOf(s: Session): "/workbench" | "/dashboard" {
  return s.role === "expert" ? "/workbench" : "/dashboard";
}

function link(page: "/workbench" | "/dashboard") {
  return (event: React.MouseEvent) => {
    event.preventDefault();
    go(page);
  };
}
