// The API as the page calls it: the session (token, project, email) in the tab's session storage,
// requests with the token in the X-Auth-Token header (never in a URL), and its errors.

export const session = {
  get() {
    try { return JSON.parse(sessionStorage.getItem("teamlabel.session") || "null"); } catch { return null; }
  },
  set(s) { sessionStorage.setItem("teamlabel.session", JSON.stringify(s)); },
  clear() { sessionStorage.removeItem("teamlabel.session"); },
};

/** What happens when the server no longer takes the token (set by the views). */
export const hooks = { signedOut: (message) => { throw new Error(message); } };

export class ApiError extends Error {
  constructor(status, code, message, retryAfter) {
    super(message);
    this.status = status;
    this.code = code;
    this.retryAfter = retryAfter;
  }
}

export async function api(method, path, body, extra = {}) {
  const s = session.get();
  const headers = { ...extra };
  if (s) headers["X-Auth-Token"] = s.token;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const res = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  if (res.status === 401 && s) {
    hooks.signedOut("Your session ended; sign in again.");
    throw new ApiError(401, "", "signed out");
  }
  if (!res.ok) {
    let e = {};
    try { e = await res.json(); } catch { /* not JSON */ }
    throw new ApiError(res.status, e.error_code || "", e.error_msg || (e.error && e.error.message) || res.statusText,
      res.headers.get("Retry-After"));
  }
  return res;
}

export const json = async (method, path, body, extra) => (await api(method, path, body, extra)).json();
export const v2 = (rest) => `/v2/${session.get().projectId}${rest}`;
