// The API as the signed-in person: every call carries their token, so the console
// shows exactly what their organization may see.
import { accessToken, refresh, startSignIn } from "./auth.js";

export class ApiError extends Error {}

async function authorized(path, init = {}) {
  const send = (token) => fetch(path, { ...init, headers: { ...init.headers, authorization: `Bearer ${token}` } });
  let token = await accessToken();
  if (token) {
    const response = await send(token);
    if (response.status !== 401) return response;
    token = await refresh(); // expired or revoked under us
    if (token) return send(token);
  }
  await startSignIn(location.hash);
  throw new ApiError("Your session has ended: signing in again…");
}

/** A GraphQL query's data; errors thrown, with the API's messages. */
export async function graphql(query, variables = {}) {
  const response = await authorized("/graphql", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ query, variables }),
  });
  const body = await response.json().catch(() => ({}));
  if (body.errors?.length) throw new ApiError(body.errors.map((error) => error.message).join("; "));
  if (!response.ok) throw new ApiError(`The hub answered ${response.status}.`);
  return body.data;
}

/** A JSON route's answer (ingestions, identifiers). */
export async function getJson(path) {
  const response = await authorized(path);
  const body = await response.json().catch(() => ({}));
  if (!response.ok) throw new ApiError(body.detail || body.title || `The hub answered ${response.status}.`);
  return body;
}

/** Hand the browser a file to save. */
export function saveBlob(blob, filename) {
  const link = document.createElement("a");
  link.href = URL.createObjectURL(blob);
  link.download = filename;
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(link.href), 10_000);
}
