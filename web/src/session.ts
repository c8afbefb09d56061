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

// What the sign-in page offers: the organisation's identity provider (OIDC), the development
// form (never in production), both, or neither (then the console is not configured).
export interface SignInConfig {
  development: boolean;
  oidc: boolean;
}

export async function signInConfig(): Promise<SignInConfig> {
  const response = await fetch("/session/config", { credentials: "same-origin" });
  if (!response.ok) throw new Error(`the console answered ${response.status}`);
  return (await response.json()) as SignInConfig;
}

/** Where the browser goes to sign in with the organisation's identity provider (a full
 * navigation: the console redirects to the provider, which sends the browser back). */
export const OIDC_LOGIN = "/session/login";

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
