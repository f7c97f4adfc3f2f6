import type { LogoutTokenSender } from "../../domain/ports/logout-tokens.ts";

/**
 * The back-channel POST (OIDC Back-Channel Logout 1.0 §2.5): a form with
 * `logout_token`, redirects not followed (the registered URI is where the
 * token goes, nowhere else), abandoned after `timeoutMs`.
 */
export class FetchLogoutTokenSender implements LogoutTokenSender {
  async send(uri: string, logoutToken: string, timeoutMs: number): Promise<number> {
    const response = await fetch(uri, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ logout_token: logoutToken }).toString(),
      redirect: "manual",
      signal: AbortSignal.timeout(timeoutMs),
    });
    await response.body?.cancel();
    return response.status;
  }
}
