import { AUTH, freshTotpCode, ok } from "./identity.ts";

/**
 * Turns TOTP on for the token's user through the API. `used` holds the time steps spent (the
 * replay guard refuses a step twice): pass it to freshTotpCode for the next code.
 */
export async function enrolTotp(
  url: string,
  accessToken: string,
): Promise<{ secret: string; used: Set<number>; recoveryCodes: string[] }> {
  const used = new Set<number>();
  const { secret } = await ok(url, `${AUTH}/EnrollTotp`, {}, accessToken);
  const { recoveryCodes } = await ok(
    url,
    `${AUTH}/ConfirmTotp`,
    { code: freshTotpCode(secret, used) },
    accessToken,
  );
  return { secret, used, recoveryCodes };
}
