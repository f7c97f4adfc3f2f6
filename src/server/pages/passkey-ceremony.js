// The hosted pages' one script: runs the WebAuthn call of a passkey form the server rendered
// (its request options in data-passkey-options, begun server-side), puts the answer in the form's
// credential_json field and posts the form, which finishes the ceremony on the server. No fetch,
// no inline script: the page's CSP allows only this file. Where the browser lacks the WebAuthn
// JSON helpers the form stays hidden and the password form is all there is.

(() => {
  const Credential = globalThis.PublicKeyCredential;
  if (
    typeof Credential !== "function" ||
    typeof Credential.parseRequestOptionsFromJSON !== "function" ||
    typeof Credential.prototype.toJSON !== "function"
  ) {
    return;
  }

  /** What a refusal means, in words that say what to do next (the browser says little on purpose). */
  function messageOf(error) {
    switch (error?.name) {
      case "NotAllowedError":
        return "The passkey request was cancelled or timed out, or this device has no passkey for this site. Try again, or use your password.";
      case "SecurityError":
        return "This browser refused to use a passkey on this address.";
      case "InvalidStateError":
      case "NotSupportedError":
        return "This device cannot use a passkey here. Try another device, or use your password.";
      default:
        return "Your passkey could not be used. Try again, or use your password.";
    }
  }

  function setUp(form) {
    const button = form.querySelector("button[data-passkey-start]");
    const status = form.querySelector("[data-passkey-error]");
    const answer = form.elements.namedItem("credential_json");
    const options = () => Credential.parseRequestOptionsFromJSON(JSON.parse(form.dataset.passkeyOptions));
    let autofill;

    const send = (credential) => {
      answer.value = JSON.stringify(credential.toJSON());
      form.submit();
    };
    const show = (error) => {
      status.textContent = messageOf(error);
      button.disabled = false;
      button.focus();
    };

    button.addEventListener("click", () => {
      // One ceremony at a time: the autofill request gives way to the one asked for.
      autofill?.abort();
      status.textContent = "";
      button.disabled = true;
      navigator.credentials.get({ publicKey: options() }).then((credential) => {
        if (credential === null) show(undefined);
        else send(credential);
      }, show);
    });
    form.hidden = false;
    // The only way on (a passkey-only second step): autofocus could not reach it while hidden.
    if (button.hasAttribute("autofocus")) button.focus();

    // Conditional UI: the login field's autofill offers the passkeys (autocomplete="username webauthn").
    if (
      form.dataset.passkeyAutofill === "true" &&
      typeof Credential.isConditionalMediationAvailable === "function"
    ) {
      Credential.isConditionalMediationAvailable().then((available) => {
        if (!available) return;
        autofill = new AbortController();
        navigator.credentials
          .get({ publicKey: options(), mediation: "conditional", signal: autofill.signal })
          .then(
            (credential) => {
              if (credential !== null) send(credential);
            },
            // Autofill is an offer, not a request: its failures stay quiet, the button still works.
            () => {},
          );
      });
    }
  }

  for (const form of document.querySelectorAll("form[data-passkey-options]")) setUp(form);
})();
