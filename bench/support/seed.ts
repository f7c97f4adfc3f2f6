import { randomBytes } from "node:crypto";
import { ADMIN } from "./gatehouse-server.ts";

/** A Connect JSON call (HTTP/1.1 POST, as a browser sends it) that must succeed. */
export async function callJson<T = Record<string, unknown>>(
  baseUrl: string,
  procedure: string,
  body: unknown,
  token?: string,
): Promise<T> {
  const response = await fetch(`${baseUrl}/${procedure}`, {
    method: "POST",
    headers: {
      "content-type": "application/json",
      ...(token === undefined ? {} : { authorization: `Bearer ${token}` }),
    },
    body: JSON.stringify(body),
  });
  const text = await response.text();
  if (response.status !== 200) throw new Error(`${procedure}: HTTP ${response.status} ${text.slice(0, 500)}`);
  return (text === "" ? {} : JSON.parse(text)) as T;
}

export interface TokenSet {
  readonly accessToken: string;
  readonly refreshToken: string;
  readonly sessionId: string;
}

export const unique = (prefix: string) => `${prefix}-${randomBytes(4).toString("hex")}`;

export async function login(baseUrl: string, username: string, password: string): Promise<TokenSet> {
  const response = await callJson<{ tokens?: TokenSet }>(baseUrl, "gatehouse.v1.AuthService/Login", {
    login: username,
    password,
  });
  if (response.tokens === undefined) throw new Error(`login of ${username} returned no tokens`);
  return response.tokens;
}

export const adminLogin = (baseUrl: string) => login(baseUrl, ADMIN.username, ADMIN.password);

export interface SeededAccess {
  readonly adminToken: string;
  readonly serviceId: string;
  readonly serviceSlug: string;
  readonly userId: string;
  readonly username: string;
  readonly password: string;
  /** A signed-in session of the user, who holds `editor` on the service. */
  readonly tokens: TokenSet;
}

export const USER_PASSWORD = "Bench-user-pass-12345!";

/** One service, one user granted `editor` on it, and a signed-in session of that user. */
export async function seedAccess(baseUrl: string): Promise<SeededAccess> {
  const adminToken = (await adminLogin(baseUrl)).accessToken;
  const slug = unique("orders");
  const service = await callJson<{ service: { id: string } }>(
    baseUrl,
    "gatehouse.v1.ServiceRegistryService/CreateService",
    { slug, displayName: "Orders", hosts: { hosts: ["orders.internal"] } },
    adminToken,
  );
  const user = await createUser(baseUrl, adminToken);
  await callJson(
    baseUrl,
    "gatehouse.v1.UserService/SetServiceGrants",
    { userId: user.id, grants: [{ serviceId: service.service.id, role: "editor" }] },
    adminToken,
  );
  const tokens = await login(baseUrl, user.username, USER_PASSWORD);
  return {
    adminToken,
    serviceId: service.service.id,
    serviceSlug: slug,
    userId: user.id,
    username: user.username,
    password: USER_PASSWORD,
    tokens,
  };
}

export async function createUser(
  baseUrl: string,
  adminToken: string,
): Promise<{ id: string; username: string }> {
  const username = unique("user");
  const response = await callJson<{ user: { id: string } }>(
    baseUrl,
    "gatehouse.v1.UserService/CreateUser",
    {
      username,
      email: `${username}@gatehouse.bench`,
      password: USER_PASSWORD,
      emailVerified: true,
      profile: { firstName: "Bench", lastName: "User" },
    },
    adminToken,
  );
  return { id: response.user.id, username };
}
