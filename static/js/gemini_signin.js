// Gemini sign-in from the console: the admin adds their own Google account with the same OAuth flow as the
// public donation page (a popup that lands on /oauth-callback-page, or a pasted redirect address). With the
// admin's session the server adds an ordinary pool account, not a public donation.
import { $, setMsg } from "./dom.js";

export function createGeminiSignIn({ api, onAdded }) {
  let pendingState = null;

  async function finish(body) {
    setMsg("gemini-msg", "Adding the account…");
    try {
      const { data } = await api("POST", "/api/gemini/oauth-callback", body);
      setMsg("gemini-msg", data.updated ? "This Google account was already in the pool; its access was renewed." : "Google account added.", "ok");
      $("gemini-paste").value = "";
      onAdded();
    } catch (error) {
      setMsg("gemini-msg", error.message, "error");
    }
  }

  $("gemini-signin").addEventListener("click", async () => {
    try {
      const { data } = await api("GET", "/api/gemini/oauth-config?mode=popup");
      pendingState = data.state;
      const popup = window.open(data.authorizeUrl, "gemini-oauth", "width=600,height=700");
      $("gemini-paste-row").classList.remove("hidden");
      setMsg("gemini-msg", popup
        ? "A Google sign-in window is open. If it ends on an error page, paste its address below."
        : "The sign-in window was blocked: allow pop-ups for this site and try again.");
    } catch (error) {
      setMsg("gemini-msg", error.status === 503
        ? "Google sign-in is not configured on this server (GEMINI_CLIENT_ID and GEMINI_CLIENT_SECRET)."
        : error.message, "error");
    }
  });

  $("gemini-paste-go").addEventListener("click", () => {
    const url = $("gemini-paste").value.trim();
    if (!url) {
      setMsg("gemini-msg", "Paste the address Google redirected to first.", "error");
      return;
    }
    finish({ url });
  });

  // The landing page reports back to the window that opened it; only this origin is trusted.
  addEventListener("message", (event) => {
    if (event.origin !== location.origin || !event.data || typeof event.data !== "object") return;
    if (event.data.type === "oauth-success" && typeof event.data.code === "string") {
      finish({ code: event.data.code, state: typeof event.data.state === "string" ? event.data.state : pendingState });
    } else if (event.data.type === "oauth-error") {
      setMsg("gemini-msg", `Google did not authorize the account: ${String(event.data.error || "unknown error")}`, "error");
    }
  });
}
