/** The one document Gatehouse serves for its front ends (src/server/console-app.ts). */
export interface FrontendConfig {
  readonly provider: "builtin" | "keycloak";
  readonly issuer: string;
  readonly clientId: string;
  readonly passwordPolicy: {
    readonly minLength: number;
    readonly minCharacterClasses: number;
    readonly maxLength: number;
  };
  /** Passkeys are served (PASSKEYS_ENABLED, built-in provider only). */
  readonly passkeys: boolean;
}

/** The policy in words, shown next to every new-password field before submit. */
export function describePasswordPolicy(policy: FrontendConfig["passwordPolicy"]): string {
  const classes =
    policy.minCharacterClasses <= 1
      ? ""
      : `, mixing at least ${policy.minCharacterClasses} of lower case, upper case, digits and other characters`;
  return `${policy.minLength}–${policy.maxLength} characters${classes}; not a common password and not your username or email.`;
}

export const FRONTEND_CONFIG_URL = "/console/config.json";

export async function loadFrontendConfig(): Promise<FrontendConfig> {
  const response = await fetch(FRONTEND_CONFIG_URL, { headers: { accept: "application/json" } });
  if (!response.ok) throw new Error(`${FRONTEND_CONFIG_URL}: HTTP ${response.status}`);
  return (await response.json()) as FrontendConfig;
}
