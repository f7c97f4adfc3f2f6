import { randomBytes } from "node:crypto";
import { readFile } from "node:fs/promises";
import { resolve } from "node:path";
import { Secret, TOTP } from "otpauth";
import {
  ensureKeycloak as ensureRunning,
  KEYCLOAK_CLIENT_ID,
  type KeycloakInstance,
  keycloakEnvironment,
  SHARED_KEYCLOAK,
} from "../../harness/keycloak.ts";
import { ROOT } from "../../harness/root.ts";

export {
  KEYCLOAK_CLIENT_ID,
  KEYCLOAK_CLIENT_SECRET,
  type KeycloakInstance,
  SHARED_KEYCLOAK,
  stopKeycloak,
} from "../../harness/keycloak.ts";

const REALM_FILE = resolve(ROOT, "keycloak/realm-gatehouse.json");

/**
 * The URL of a running Keycloak (the shared one by default), started through
 * keycloak/keycloak.sh when it is down. There is no skip path: a test that
 * needs Keycloak fails when it cannot start.
 */
export async function ensureKeycloak(instance: KeycloakInstance = SHARED_KEYCLOAK): Promise<string> {
  return (await ensureRunning(instance)).url;
}

/** A master-realm admin token (the bootstrap admin of keycloak.sh). */
export async function masterAdminToken(keycloakUrl: string): Promise<string> {
  const response = await fetch(`${keycloakUrl}/realms/master/protocol/openid-connect/token`, {
    method: "POST",
    body: new URLSearchParams({
      grant_type: "password",
      client_id: "admin-cli",
      username: process.env.KC_BOOTSTRAP_ADMIN_USERNAME ?? "admin",
      password: process.env.KC_BOOTSTRAP_ADMIN_PASSWORD ?? "admin",
    }),
  });
  if (!response.ok) throw new Error(`master admin login: HTTP ${response.status} ${await response.text()}`);
  return ((await response.json()) as { access_token: string }).access_token;
}

/** A confidential client with a service account, for client-credentials tests. */
export interface ExtraClient {
  readonly clientId: string;
  readonly secret: string;
}

export interface TestRealm {
  readonly keycloakUrl: string;
  readonly name: string;
  readonly issuer: string;
  /** The Gatehouse environment for this realm. */
  readonly env: Record<string, string>;
  /** The admin REST API of this realm as the master admin: path relative to /admin/realms/<name>. */
  admin<T = any>(
    method: string,
    path: string,
    body?: unknown,
  ): Promise<{ status: number; body: T; location: string }>;
  /** Creates a Keycloak user directly (not through Gatehouse); returns its id. */
  createUser(user: {
    username: string;
    email: string;
    password?: string;
    firstName?: string;
    lastName?: string;
    enabled?: boolean;
    attributes?: Record<string, string[]>;
    /** Creates an OTP credential with this secret (raw bytes as text), as a user who enrolled would have. */
    otpSecret?: string;
  }): Promise<string>;
  /** Changes the realm's SMTP port (e.g. to a mail catcher started by the test). */
  setSmtpPort(port: number): Promise<void>;
  /** Points the back-channel logout URL of the realm's two clients at `url` ("" turns it off). */
  setBackchannelLogoutUrl(url: string): Promise<void>;
  delete(): Promise<void>;
}

/**
 * A fresh realm for one test file, imported from keycloak/realm-gatehouse.json
 * through the master admin (the same clients, scopes, user profile and OTP
 * policy), under its own name so that suites running in parallel against the
 * one Keycloak never see each other's users.
 *
 * Brute-force detection is off. Keycloak 26.7.3 refused users
 * that had never failed a sign-in as `user_temporarily_disabled`: in one CI run
 * a user signed in, and its second sign-in a second later was refused, with no
 * LOGIN_ERROR for that user before it in Keycloak's event log and one failure
 * of another user in the realm. The same symptom (a second sign-in refused as
 * invalid credentials) had failed two other tests in earlier runs, whose
 * Keycloak logs were not kept. No test exercises the lockout itself
 * (keycloak/README.md records it as checked by hand).
 */
export async function createTestRealm(
  keycloakUrl: string,
  options: { smtpPort?: number; extraClients?: readonly ExtraClient[] } = {},
): Promise<TestRealm> {
  const name = `gh-test-${randomBytes(5).toString("hex")}`;
  const template = await readFile(REALM_FILE, "utf8");
  const realm = JSON.parse(
    template
      .replace(/\$\{KEYCLOAK_SMTP_HOST:127\.0\.0\.1\}/g, "127.0.0.1")
      .replace(/\$\{KEYCLOAK_SMTP_PORT:1025\}/g, String(options.smtpPort ?? 1025))
      // No back-channel logout unless the test points it at its Gatehouse (setBackchannelLogoutUrl).
      .replace(/\$\{GATEHOUSE_BACKCHANNEL_LOGOUT_URL:[^}]*\}/g, ""),
  ) as Record<string, any>;
  realm.realm = name;
  realm.bruteForceProtected = false;
  for (const client of options.extraClients ?? []) {
    realm.clients.push({
      clientId: client.clientId,
      enabled: true,
      protocol: "openid-connect",
      publicClient: false,
      clientAuthenticatorType: "client-secret",
      secret: client.secret,
      standardFlowEnabled: false,
      directAccessGrantsEnabled: false,
      serviceAccountsEnabled: true,
      protocolMappers: realm.clients[0].protocolMappers,
      defaultClientScopes: ["web-origins", "acr", "profile", "roles", "basic", "email"],
    });
  }

  let token = await masterAdminToken(keycloakUrl);
  let tokenAt = Date.now();
  const adminFetch = async (method: string, url: string, body?: unknown) => {
    // Master admin tokens live 60 s.
    if (Date.now() - tokenAt > 30_000) {
      token = await masterAdminToken(keycloakUrl);
      tokenAt = Date.now();
    }
    const response = await fetch(url, {
      method,
      headers: {
        authorization: `Bearer ${token}`,
        ...(body === undefined ? {} : { "content-type": "application/json" }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await response.text();
    let parsed: unknown = text;
    try {
      parsed = text === "" ? undefined : JSON.parse(text);
    } catch {
      // not JSON
    }
    return { status: response.status, body: parsed as any, location: response.headers.get("location") ?? "" };
  };

  const created = await adminFetch("POST", `${keycloakUrl}/admin/realms`, realm);
  if (created.status !== 201)
    throw new Error(`realm import: HTTP ${created.status} ${JSON.stringify(created.body)}`);
  const base = `${keycloakUrl}/admin/realms/${name}`;

  return {
    keycloakUrl,
    name,
    issuer: `${keycloakUrl}/realms/${name}`,
    env: keycloakEnvironment(keycloakUrl, name),
    admin: (method, path, body) => adminFetch(method, `${base}${path}`, body),
    async createUser(user) {
      const credentials: unknown[] = [];
      if (user.password !== undefined)
        credentials.push({ type: "password", value: user.password, temporary: false });
      if (user.otpSecret !== undefined) {
        credentials.push({
          type: "otp",
          userLabel: "test authenticator",
          secretData: JSON.stringify({ value: user.otpSecret }),
          credentialData: JSON.stringify({
            subType: "totp",
            digits: 6,
            counter: 0,
            period: 30,
            algorithm: "HmacSHA1",
          }),
        });
      }
      const response = await adminFetch("POST", `${base}/users`, {
        username: user.username,
        email: user.email,
        firstName: user.firstName ?? "Test",
        lastName: user.lastName ?? "User",
        enabled: user.enabled ?? true,
        attributes: user.attributes,
        credentials,
      });
      if (response.status !== 201)
        throw new Error(`create user: HTTP ${response.status} ${JSON.stringify(response.body)}`);
      return response.location.split("/").pop()!;
    },
    async setSmtpPort(port) {
      const response = await adminFetch("PUT", base, {
        smtpServer: { ...realm.smtpServer, port: String(port) },
      });
      if (response.status !== 204) throw new Error(`smtp port: HTTP ${response.status}`);
    },
    async setBackchannelLogoutUrl(url) {
      for (const clientId of [KEYCLOAK_CLIENT_ID, "gatehouse-web"]) {
        const [client] = (await adminFetch("GET", `${base}/clients?clientId=${clientId}`)).body;
        const response = await adminFetch("PUT", `${base}/clients/${client.id}`, {
          ...client,
          attributes: { ...client.attributes, "backchannel.logout.url": url },
        });
        if (response.status !== 204) throw new Error(`backchannel logout url: HTTP ${response.status}`);
      }
    },
    async delete() {
      await adminFetch("DELETE", base).catch(() => {});
    },
  };
}

/** The TOTP code of a Keycloak OTP secret (raw text, as in createUser's otpSecret) for a moment. */
export function keycloakTotp(otpSecret: string, timestamp = Date.now()): string {
  return new TOTP({ secret: Secret.fromUTF8(otpSecret), digits: 6, period: 30, algorithm: "SHA1" }).generate({
    timestamp,
  });
}

/**
 * A code for a 30-s step not used before by this test: Keycloak refuses a
 * code twice (otpPolicyCodeReusable false) and accepts the next step too
 * (look-around 1: the previous and next steps too).
 */
export function freshKeycloakTotp(otpSecret: string, used: Set<number>): string {
  const current = Math.floor(Date.now() / 30_000);
  for (const step of [current, current + 1, current - 1]) {
    if (used.has(step)) continue;
    used.add(step);
    return keycloakTotp(otpSecret, step * 30_000);
  }
  throw new Error("every acceptable TOTP step is used: wait for the next period");
}

/**
 * Follows Keycloak's UPDATE_PASSWORD action link from a mail the way a
 * browser would (info page, then the update-password form) and sets a new
 * password. Throws when any step does not look as expected.
 */
export async function completeKeycloakPasswordReset(mailText: string, newPassword: string): Promise<void> {
  const link = /(https?:\/\/[^\s"<>]+\/login-actions\/action-token\?[^\s"<>]+)/.exec(mailText)?.[1];
  if (link === undefined) throw new Error(`no action link in mail:\n${mailText}`);
  const cookies = new Map<string, string>();
  const browse = async (url: string, init: RequestInit = {}): Promise<string> => {
    const response = await fetch(url, {
      ...init,
      redirect: "manual",
      headers: {
        ...(init.headers as Record<string, string>),
        cookie: [...cookies].map(([name, value]) => `${name}=${value}`).join("; "),
      },
    });
    for (const cookie of response.headers.getSetCookie()) {
      const [pair] = cookie.split(";");
      const separator = pair!.indexOf("=");
      cookies.set(pair!.slice(0, separator), pair!.slice(separator + 1));
    }
    if (response.status >= 300 && response.status < 400)
      return browse(new URL(response.headers.get("location")!, url).href);
    if (response.status !== 200) throw new Error(`${url}: HTTP ${response.status}`);
    return response.text();
  };
  const unescapeHtml = (value: string) => value.replace(/&amp;/g, "&");
  let page = await browse(unescapeHtml(link));
  // "Perform the following action(s)": a link to proceed.
  const proceed = /href="([^"]*login-actions\/action-token[^"]*)"/.exec(page)?.[1];
  if (proceed !== undefined) page = await browse(new URL(unescapeHtml(proceed), link).href);
  const action = /<form[^>]*id="kc-passwd-update-form"[^>]*action="([^"]+)"/.exec(page)?.[1];
  if (action === undefined) throw new Error("Keycloak showed no update-password form");
  const done = await browse(new URL(unescapeHtml(action), link).href, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ "password-new": newPassword, "password-confirm": newPassword }).toString(),
  });
  if (!/account has been updated/i.test(done)) throw new Error("Keycloak did not confirm the new password");
}
