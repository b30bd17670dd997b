// Passkeys (WebAuthn): the server sends options as JSON (py_webauthn's options_to_json),
// the browser creates or uses the credential, the answer goes back as JSON.
(function () {
  "use strict";
  function fromB64url(text) {
    var b64 = text.replace(/-/g, "+").replace(/_/g, "/");
    while (b64.length % 4) { b64 += "="; }
    var raw = atob(b64), out = new Uint8Array(raw.length);
    for (var i = 0; i < raw.length; i++) { out[i] = raw.charCodeAt(i); }
    return out.buffer;
  }
  function toB64url(buffer) {
    var bytes = new Uint8Array(buffer), text = "";
    for (var i = 0; i < bytes.length; i++) { text += String.fromCharCode(bytes[i]); }
    return btoa(text).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }
  function csrf() {
    var m = document.cookie.match(/(?:^|; )csrftoken=([^;]+)/);
    return m ? decodeURIComponent(m[1]) : "";
  }
  function post(url, body) {
    return fetch(url, {method: "POST", credentials: "same-origin",
      headers: {"X-CSRFToken": csrf(), "Content-Type": "application/json"},
      body: body ? JSON.stringify(body) : "{}"});
  }
  function showError(message) {
    var el = document.getElementById("passkey-error");
    if (el) { el.textContent = message; el.hidden = false; el.focus && el.focus(); }
  }
  function finish(response) {
    return response.json().then(function (data) {
      if (response.ok && data.redirect) { window.location.assign(data.redirect); }
      else { showError(data.error || response.statusText); }
    });
  }
  var register = document.getElementById("passkey-register");
  if (register) {
    register.addEventListener("click", function () {
      if (!window.PublicKeyCredential) { showError(register.dataset.unsupported || "WebAuthn"); return; }
      post(register.dataset.optionsUrl).then(function (r) { return r.json(); }).then(function (o) {
        o.challenge = fromB64url(o.challenge);
        o.user.id = fromB64url(o.user.id);
        (o.excludeCredentials || []).forEach(function (c) { c.id = fromB64url(c.id); });
        return navigator.credentials.create({publicKey: o});
      }).then(function (cred) {
        var nameInput = document.getElementById("passkey-name");
        return post(register.dataset.finishUrl, {
          id: cred.id, rawId: toB64url(cred.rawId), type: cred.type,
          response: {clientDataJSON: toB64url(cred.response.clientDataJSON),
                     attestationObject: toB64url(cred.response.attestationObject),
                     transports: cred.response.getTransports ? cred.response.getTransports() : []},
          keyName: nameInput ? nameInput.value : ""});
      }).then(finish).catch(function (err) { showError(String(err && err.message || err)); });
    });
  }
  var login = document.getElementById("passkey-login");
  if (login) {
    login.addEventListener("click", function () {
      if (!window.PublicKeyCredential) { showError("WebAuthn"); return; }
      post(login.dataset.optionsUrl).then(function (r) { return r.json(); }).then(function (o) {
        o.challenge = fromB64url(o.challenge);
        (o.allowCredentials || []).forEach(function (c) { c.id = fromB64url(c.id); });
        return navigator.credentials.get({publicKey: o});
      }).then(function (cred) {
        return post(login.dataset.finishUrl, {
          id: cred.id, rawId: toB64url(cred.rawId), type: cred.type,
          response: {clientDataJSON: toB64url(cred.response.clientDataJSON),
                     authenticatorData: toB64url(cred.response.authenticatorData),
                     signature: toB64url(cred.response.signature),
                     userHandle: cred.response.userHandle ? toB64url(cred.response.userHandle) : null}});
      }).then(finish).catch(function (err) { showError(String(err && err.message || err)); });
    });
  }
})();
