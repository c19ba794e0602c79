// Landing page of the donation popup: hands code and state to the page that opened it (same origin only).
(function () {
  const params = new URLSearchParams(window.location.search);
  const code = params.get("code");
  const state = params.get("state");
  const error = params.get("error");
  const title = document.getElementById("title");
  const message = document.getElementById("message");

  if (!window.opener) {
    title.textContent = "Cannot reach the donation page";
    message.textContent = "Copy this page's address and paste it into the box on the donation page.";
    document.getElementById("href").textContent = window.location.href;
    document.getElementById("address").hidden = false;
    return;
  }
  if (error || !code) {
    window.opener.postMessage({ type: "oauth-error", error: error || "no authorization code" }, window.location.origin);
    title.textContent = "Sign-in failed";
    message.textContent = "Google reported: " + (error || "no authorization code") + ". This window closes in a moment.";
    setTimeout(() => window.close(), 3000);
    return;
  }
  window.opener.postMessage({ type: "oauth-success", code: code, state: state }, window.location.origin);
  title.textContent = "Signed in";
  message.textContent = "You can return to the donation page. This window closes in a moment.";
  setTimeout(() => window.close(), 1000);
})();
