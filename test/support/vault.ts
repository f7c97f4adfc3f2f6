import { randomBytes } from "node:crypto";
import type { DataSource } from "typeorm";
import { entryAssociatedData, VaultKeyring } from "../../src/domain/vault/vault-keyring.ts";
import type { VaultTokenProvider } from "../../src/domain/vault/vault-token-provider.ts";
import { postJson } from "./connect-json.ts";
import { ok } from "./identity.ts";

export const VAULT = "gatehouse.v1.TokenVaultService";

/** StoreToken as the bearer of `accessToken`; a refresh token unless told. */
export const storeToken = (
  url: string,
  accessToken: string,
  purpose: string,
  token: string,
  tokenType = "VAULT_TOKEN_TYPE_REFRESH",
) => ok(url, `${VAULT}/StoreToken`, { purpose, token, tokenType }, accessToken);

/** A fresh vault key (64 hex characters, the seed's format). */
export const newVaultKey = () => randomBytes(32).toString("hex");

export const vaultEnv = (keys: Record<string, string>, active: string): Record<string, string> => ({
  VAULT_KEYS: Object.entries(keys)
    .map(([id, key]) => `${id}:${key}`)
    .join(","),
  VAULT_ACTIVE_KEY: active,
});

/**
 * Wraps the vault's provider port: counts round trips (mints) and can hold
 * them until released, to make calls overlap for certain.
 */
export function countingVaultTokens() {
  let inner: VaultTokenProvider | undefined;
  let gate: Promise<void> | undefined;
  const counter = {
    mints: 0,
    wrap(tokens: VaultTokenProvider): VaultTokenProvider {
      inner = tokens;
      return {
        ownClientId: tokens.ownClientId,
        subjectOf: (user) => tokens.subjectOf(user),
        inspect: (token) => tokens.inspect(token),
        requestOffline: (account, credentials, client) => tokens.requestOffline(account, credentials, client),
        revoke: (token) => tokens.revoke(token),
        async mint(token, request) {
          counter.mints++;
          await gate;
          return tokens.mint(token, request);
        },
      };
    },
    /** Holds every mint until the returned function is called. */
    hold(): () => void {
      let release!: () => void;
      gate = new Promise<void>((resolve) => {
        release = resolve;
      });
      return () => {
        gate = undefined;
        release();
      };
    },
    get wrapped() {
      return inner !== undefined;
    },
  };
  return counter;
}

/** A counter of /metrics (0 when absent). */
export async function metricValue(baseUrl: string, name: string, labels: string): Promise<number> {
  const text = await (await fetch(`${baseUrl}/metrics`)).text();
  const line = text.split("\n").find((candidate) => candidate.startsWith(`${name}{${labels}}`));
  return line === undefined ? 0 : Number(line.split(" ").at(-1));
}

/** Polls until `condition` holds (each look is an event-loop turn plus a short pause; no duration is asserted). */
export async function until(condition: () => Promise<boolean>, what: string, attempts = 600): Promise<void> {
  for (let attempt = 0; attempt < attempts; attempt++) {
    if (await condition()) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`gave up waiting for ${what}`);
}

export interface VaultRow {
  id: string;
  user_id: string;
  client_id: string;
  purpose: string;
  key_id: string;
  state: string;
  session_id: string;
  token_sealed: Uint8Array;
}

export async function vaultRows(dataSource: DataSource, userId?: string): Promise<VaultRow[]> {
  const rows: VaultRow[] = await dataSource.query(
    `SELECT id, user_id, client_id, purpose, key_id, state, session_id, token_sealed FROM vault_entries
     ${userId === undefined ? "" : "WHERE user_id = $1"} ORDER BY created_at`,
    userId === undefined ? [] : [userId],
  );
  return rows.map((row) => ({ ...row, token_sealed: Buffer.from(row.token_sealed) }));
}

/** What the test itself can do with the keys it gave Gatehouse: open a stored token. */
export function openStoredToken(keys: Record<string, string>, row: VaultRow): string {
  const ring = new VaultKeyring(
    new Map(Object.entries(keys).map(([id, key]) => [id, Buffer.from(key, "hex")])),
    Object.keys(keys)[0],
  );
  return ring.open(
    { keyId: row.key_id, ciphertext: row.token_sealed },
    entryAssociatedData(
      { userId: row.user_id, clientId: row.client_id, purpose: row.purpose },
      "stored_token",
    ),
  );
}

export async function setSealed(dataSource: DataSource, id: string, keyId: string, sealed: Uint8Array) {
  await dataSource.query(`UPDATE vault_entries SET key_id = $2, token_sealed = $3 WHERE id = $1`, [
    id,
    keyId,
    Buffer.from(sealed),
  ]);
}

/** An Envoy ext_authz Check over Connect JSON: the HTTP status Envoy would answer with. */
export async function envoyCheck(baseUrl: string, accessToken: string, service: string): Promise<number> {
  const response = await postJson(baseUrl, "envoy.service.auth.v3.Authorization/Check", {
    attributes: {
      request: {
        http: {
          method: "GET",
          path: "/reports",
          host: "gateway.internal",
          headers: { authorization: `Bearer ${accessToken}`, ":authority": "gateway.internal" },
        },
      },
      contextExtensions: { service },
    },
  });
  if (response.status !== 200)
    throw new Error(`Check: HTTP ${response.status} ${JSON.stringify(response.body)}`);
  const status = (response.body.status as { code?: number } | undefined)?.code ?? 0;
  return status === 0 ? 200 : status === 16 ? 401 : 403;
}

/**
 * Two GetAccessToken calls for one entry that overlap for certain: the
 * provider round trip of the first is held until the second has joined it
 * (seen on /metrics). Returns both answers.
 */
export async function concurrentGetAccessTokens(
  url: string,
  counter: ReturnType<typeof countingVaultTokens>,
  accessToken: string,
  purpose: string,
): Promise<[any, any]> {
  const joined = () => metricValue(url, "gatehouse_vault_mints_total", 'source="joined"');
  const joinedBefore = await joined();
  const mintsBefore = counter.mints;
  const get = () => ok(url, `${VAULT}/GetAccessToken`, { purpose }, accessToken);
  const release = counter.hold();
  const calls: Array<Promise<any>> = [];
  try {
    calls.push(get());
    await until(async () => counter.mints > mintsBefore, "the first call to reach the provider");
    calls.push(get());
    await until(async () => (await joined()) > joinedBefore, "the second call to join the first");
  } finally {
    release();
  }
  const [first, second] = await Promise.all(calls);
  return [first, second];
}
