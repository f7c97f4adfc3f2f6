import { AUTH, ok } from "./identity.ts";
import type { SoftwareAuthenticator } from "./software-authenticator.ts";

/** Registers a passkey of `authenticator` for the signed-in user over Connect JSON; returns the Passkey message. */
export async function registerPasskey(
  url: string,
  accessToken: string,
  authenticator: SoftwareAuthenticator,
  name = "",
): Promise<any> {
  const begun = await ok(url, `${AUTH}/BeginPasskeyRegistration`, { name }, accessToken);
  const { credentialJson } = authenticator.register(begun.optionsJson);
  const finished = await ok(
    url,
    `${AUTH}/FinishPasskeyRegistration`,
    { ceremonyId: begun.ceremonyId, credentialJson },
    accessToken,
  );
  return finished.passkey;
}

/**
 * A passkey sign-in that must succeed: passwordless, or the MFA step of `mfaToken`; begun on
 * `url` and finished on `finishUrl` (another replica) when given. Returns the TokenSet.
 */
export async function passkeySignIn(
  url: string,
  authenticator: SoftwareAuthenticator,
  options: { readonly mfaToken?: string; readonly finishUrl?: string } = {},
): Promise<any> {
  const begun = await ok(url, `${AUTH}/BeginPasskeySignIn`, { mfaToken: options.mfaToken ?? "" });
  const finished = await ok(options.finishUrl ?? url, `${AUTH}/FinishPasskeySignIn`, {
    ceremonyId: begun.ceremonyId,
    credentialJson: authenticator.assert(begun.optionsJson),
  });
  return finished.tokens;
}
