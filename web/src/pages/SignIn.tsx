import { useQuery } from "@tanstack/react-query";
import { useState } from "react";
import { devSignIn, OIDC_LOGIN, signInConfig, type Role, type Session } from "../session";

// Sign-in: with the organisation's identity provider (the console runs the OpenID Connect
// code flow and keeps the token in an HttpOnly cookie), and on a developer's machine with the
// development form (the console mints a development token; refused in production).
export function SignIn({ session, onSignedIn }: { session: Session | null | undefined; onSignedIn: (s: Session) => void }) {
  const config = useQuery({ queryKey: ["session-config"], queryFn: signInConfig, staleTime: Infinity });
  if (config.isPending)
    return (
      <main className="signin">
        <p role="status">Loading…</p>
      </main>
    );
  if (config.isError) {
    return (
      <main className="signin">
        <h1>Sign in to Quorum</h1>
        <p role="alert">The console does not answer: reload to try again.</p>
      </main>
    );
  }
  const { development, oidc } = config.data;
  return (
    <main className="signin">
      <h1>Sign in to Quorum</h1>
      {oidc ? (
        <p>
          <a className="signin-provider" href={OIDC_LOGIN}>
            Sign in with your organisation
          </a>
        </p>
      ) : null}
      {development ? <DevSignInForm session={session} onSignedIn={onSignedIn} /> : null}
      {!oidc && !development ? (
        <p role="alert">
          Sign-in is not configured on this console. An operator sets the organisation's identity provider:{" "}
          <code>QUORUM_CONSOLE_OIDC_ISSUER</code>, <code>QUORUM_CONSOLE_OIDC_CLIENT_ID</code>,{" "}
          <code>QUORUM_CONSOLE_OIDC_REDIRECT_URL</code> and <code>QUORUM_CONSOLE_SESSION_SECRET</code> (or, on a
          developer's machine, <code>QUORUM_ENVIRONMENT=development</code> for the development sign-in).
        </p>
      ) : null}
    </main>
  );
}

// Development sign-in: a token for the tenant, id and role given.
function DevSignInForm({ session, onSignedIn }: { session: Session | null | undefined; onSignedIn: (s: Session) => void }) {
  const [tenant, setTenant] = useState(session?.tenant ?? "demo");
  const [subject, setSubject] = useState(session?.subject ?? "");
  const [role, setRole] = useState<Role>(session?.role ?? "expert");
  const [error, setError] = useState<string | null>(null);
  return (
    <>
      <p>Development sign-in: a token for the tenant, id and role you give.</p>
      <form
        onSubmit={async (event) => {
          event.preventDefault();
          setError(null);
          try {
            onSignedIn(await devSignIn({ tenant, subject, role }));
          } catch (e) {
            setError((e as Error).message);
          }
        }}
      >
        <label>
          Tenant
          <input value={tenant} onChange={(e) => setTenant(e.target.value)} required autoComplete="organization" />
        </label>
        <label>
          Your id
          <input value={subject} onChange={(e) => setSubject(e.target.value)} required autoFocus autoComplete="username" />
        </label>
        <label>
          Role
          <select value={role} onChange={(e) => setRole(e.target.value as Role)}>
            <option value="expert">expert (workbench)</option>
            <option value="ops">ops (dashboard)</option>
            <option value="admin">admin (dashboard)</option>
            <option value="client">client (dashboard)</option>
          </select>
        </label>
        <button type="submit">Sign in</button>
        {error ? <p role="alert">{error}</p> : null}
      </form>
    </>
  );
}
