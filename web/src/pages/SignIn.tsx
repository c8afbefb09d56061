import { useState } from "react";
import { devSignIn, type Role, type Session } from "../session";

// Development sign-in: the console mints a development token (refused in production, where
// the organisation's identity provider signs people in).
export function SignIn({ session, onSignedIn }: { session: Session | null | undefined; onSignedIn: (s: Session) => void }) {
  const [tenant, setTenant] = useState(session?.tenant ?? "demo");
  const [subject, setSubject] = useState(session?.subject ?? "");
  const [role, setRole] = useState<Role>(session?.role ?? "expert");
  const [error, setError] = useState<string | null>(null);
  return (
    <main className="signin">
      <h1>Sign in to Quorum</h1>
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
    </main>
  );
}
