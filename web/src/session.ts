// The browser's session: the token is in an HttpOnly cookie the console sets; scripts only
// learn who is signed in.
export type Role = "client" | "expert" | "ops" | "admin";
export interface Session {
  subject: string;
  tenant: string;
  role: Role;
}

export async function currentSession(): Promise<Session | null> {
  const response = await fetch("/session", { credentials: "same-origin" });
  if (response.status === 401) return null;
  if (!response.ok) throw new Error(`the console answered ${response.status}`);
  return (await response.json()) as Session;
}

export async function devSignIn(who: Session): Promise<Session> {
  const response = await fetch("/session/dev", {
    method: "POST",
    credentials: "same-origin",
    headers: { "content-type": "application/json", "x-quorum-console": "1" },
    body: JSON.stringify(who),
  });
  const body = await response.json();
  if (!response.ok) throw new Error(body.detail ?? body.title ?? `HTTP ${response.status}`);
  return body as Session;
}

export async function signOut(): Promise<void> {
  await fetch("/session", { method: "DELETE", headers: { "x-quorum-console": "1" } });
}
