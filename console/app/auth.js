// Sign-in for people: OAuth 2.0 authorization code with PKCE (RFC 7636, S256) against
// the hub's own authorization server, as its built-in public client "console". The
// tokens live in this tab's sessionStorage only: closing the tab ends the session
// here, and signing out revokes the refresh token at the hub (RFC 7009).

const CLIENT_ID = "console";
const SESSION = "partnerhub.session";
const PENDING = "partnerhub.signin";
const EARLY_REFRESH_MS = 30_000; // refresh a little before the access token expires

export class SignInError extends Error {}

const callbackUri = () => `${location.origin}/console/callback`;

function base64url(bytes) {
  let text = "";
  for (const byte of new Uint8Array(bytes)) text += String.fromCharCode(byte);
  return btoa(text).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

const randomText = (size) => base64url(crypto.getRandomValues(new Uint8Array(size)));

/** Go to the hub's sign-in form; it comes back to /console/callback. */
export async function startSignIn(returnTo = location.hash) {
  const verifier = randomText(48);
  const state = randomText(16);
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(verifier));
  sessionStorage.setItem(PENDING, JSON.stringify({ verifier, state, returnTo }));
  const query = new URLSearchParams({
    response_type: "code",
    client_id: CLIENT_ID,
    redirect_uri: callbackUri(),
    state,
    code_challenge: base64url(digest),
    code_challenge_method: "S256",
  });
  location.assign(`/oauth/authorize?${query}`);
}

/** On /console/callback: trade the code for tokens, then go where sign-in started. */
export async function finishSignIn() {
  const answer = new URLSearchParams(location.search);
  const pending = JSON.parse(sessionStorage.getItem(PENDING) || "null");
  sessionStorage.removeItem(PENDING);
  if (answer.get("error")) {
    throw new SignInError(`${answer.get("error")}: ${answer.get("error_description") || "refused"}`);
  }
  if (!pending || answer.get("state") !== pending.state) {
    throw new SignInError("This sign-in answer is not for a sign-in this tab started (state mismatch).");
  }
  save(
    await tokenRequest({
      grant_type: "authorization_code",
      code: answer.get("code") || "",
      redirect_uri: callbackUri(),
      client_id: CLIENT_ID,
      code_verifier: pending.verifier,
    }),
  );
  history.replaceState(null, "", `/console${pending.returnTo || "#/lineage"}`);
}

async function tokenRequest(fields) {
  const response = await fetch("/oauth/token", { method: "POST", body: new URLSearchParams(fields) });
  const body = await response.json().catch(() => ({}));
  if (!response.ok) {
    throw new SignInError(`${body.error || response.status}: ${body.error_description || "refused"}`);
  }
  return body;
}

function claimsOf(token) {
  const payload = token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
  return JSON.parse(atob(payload));
}

function save(answer) {
  const claims = claimsOf(answer.access_token);
  sessionStorage.setItem(
    SESSION,
    JSON.stringify({
      access: answer.access_token,
      refresh: answer.refresh_token,
      expiresAt: Date.now() + answer.expires_in * 1000,
      org: claims.partnerhub_org,
      subject: claims.sub,
      scopes: (answer.scope || claims.scope || "").split(" "),
    }),
  );
}

/** Who is signed in in this tab, or null. */
export function session() {
  return JSON.parse(sessionStorage.getItem(SESSION) || "null");
}

/** A valid access token, refreshed when it is about to expire; null when signed out. */
export async function accessToken() {
  const current = session();
  if (!current) return null;
  if (Date.now() < current.expiresAt - EARLY_REFRESH_MS) return current.access;
  return refresh();
}

/** A new access token from the refresh token (rotated by the hub); null, signed out, if refused. */
export async function refresh() {
  const current = session();
  if (!current?.refresh) {
    sessionStorage.removeItem(SESSION);
    return null;
  }
  try {
    save(await tokenRequest({ grant_type: "refresh_token", refresh_token: current.refresh, client_id: CLIENT_ID }));
    return session().access;
  } catch {
    sessionStorage.removeItem(SESSION); // expired or revoked: sign in again
    return null;
  }
}

/** Forget the tokens here and revoke the refresh token at the hub. */
export async function signOut() {
  const current = session();
  sessionStorage.removeItem(SESSION);
  if (current?.refresh) {
    await fetch("/oauth/revoke", {
      method: "POST",
      body: new URLSearchParams({ token: current.refresh, token_type_hint: "refresh_token", client_id: CLIENT_ID }),
    });
  }
}
