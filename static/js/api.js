// Calls the server's JSON APIs with the session cookie (an HttpOnly cookie: no token is kept in page
// storage) and turns error answers into HttpError with the server's message.

export class HttpError extends Error {
  constructor(status, message, body) {
    super(message);
    this.status = status;
    this.body = body;
  }
}

/** Returns `api(method, path, body?, headers?)`; `onUnauthorized` runs when an admin call gets 401/403. */
export function createApi(onUnauthorized) {
  return async function api(method, path, body, headers = {}) {
    const init = { method, credentials: "same-origin", headers: { ...headers } };
    if (body !== undefined) {
      init.headers["content-type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    const response = await fetch(path, init);
    const text = await response.text();
    let data = null;
    try {
      data = text ? JSON.parse(text) : null;
    } catch {
      data = null;
    }
    if (!response.ok) {
      const message = data && data.error && typeof data.error.message === "string"
        ? data.error.message
        : `HTTP ${response.status}`;
      if ((response.status === 401 || response.status === 403) && path.startsWith("/v2/")) onUnauthorized();
      throw new HttpError(response.status, message, data);
    }
    return { status: response.status, data };
  };
}

/** True when the server has no such route (yet): the view shows "not available" instead of an error. */
export function isMissingApi(error) {
  return error instanceof HttpError && (error.status === 404 || error.status === 405) &&
    /^no route for /.test(error.message);
}

/**
 * Rewrites an API validation message ("other.api_base: required; clientSecret: ...") in the form's words:
 * each `field:` prefix becomes the label the form shows for it (`labels` maps API field -> label).
 */
export function inFormWords(message, labels) {
  return String(message).split(/;\s*/).map((part) => {
    const match = /^([A-Za-z_][\w.]*):\s*(.*)$/s.exec(part);
    if (!match || !(match[1] in labels)) return part;
    return `${labels[match[1]]}: ${match[2]}`;
  }).join("\n");
}
