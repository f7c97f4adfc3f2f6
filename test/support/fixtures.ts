import { randomBytes } from "node:crypto";
import { postJson } from "./connect-json.ts";

export const ADMIN = {
  username: "root-admin",
  email: "root-admin@gatehouse.test",
  password: "Admin-pass-1234!",
};

/** Environment that bootstraps the administrator above. */
export const ADMIN_ENV = {
  BOOTSTRAP_ADMIN_USERNAME: ADMIN.username,
  BOOTSTRAP_ADMIN_EMAIL: ADMIN.email,
  BOOTSTRAP_ADMIN_PASSWORD: ADMIN.password,
  // Fixtures sign in many times from one address.
  RATE_LIMIT_PER_IP_PER_MINUTE: "100000",
  RATE_LIMIT_SENSITIVE_PER_MINUTE: "100000",
};

/** A Connect JSON call that must succeed; returns the response body. */
export async function call<T = any>(
  baseUrl: string,
  procedure: string,
  body: unknown,
  token?: string,
): Promise<T> {
  const response = await postJson(
    baseUrl,
    procedure,
    body,
    token === undefined ? {} : { authorization: `Bearer ${token}` },
  );
  if (response.status !== 200) {
    throw new Error(`${procedure} failed: HTTP ${response.status} ${JSON.stringify(response.body)}`);
  }
  return response.body as T;
}

export const unique = (prefix: string) => `${prefix}-${randomBytes(4).toString("hex")}`;

export interface Tokens {
  accessToken: string;
  refreshToken: string;
  sessionId: string;
}

export async function login(baseUrl: string, login: string, password: string): Promise<Tokens> {
  const response = await call(baseUrl, "gatehouse.v1.AuthService/Login", { login, password });
  if (response.tokens === undefined) throw new Error(`login of ${login} did not return tokens`);
  return response.tokens;
}

export async function createUser(
  baseUrl: string,
  adminToken: string,
  overrides: Record<string, unknown> = {},
): Promise<{ id: string; username: string; password: string }> {
  const username = unique("user");
  const password = "User-pass-12345!";
  const response = await call(
    baseUrl,
    "gatehouse.v1.UserService/CreateUser",
    {
      username,
      email: `${username}@gatehouse.test`,
      password,
      emailVerified: true,
      profile: { firstName: "Test", lastName: "User" },
      ...overrides,
    },
    adminToken,
  );
  return { id: response.user.id, username, password };
}

export async function createService(
  baseUrl: string,
  adminToken: string,
  overrides: Record<string, unknown> = {},
): Promise<{ id: string; slug: string }> {
  const slug = unique("svc");
  const response = await call(
    baseUrl,
    "gatehouse.v1.ServiceRegistryService/CreateService",
    { slug, displayName: slug, ...overrides },
    adminToken,
  );
  return { id: response.service.id, slug };
}

export async function setGrants(
  baseUrl: string,
  adminToken: string,
  userId: string,
  grants: Array<{ serviceId: string; role: string }>,
): Promise<void> {
  await call(baseUrl, "gatehouse.v1.UserService/SetServiceGrants", { userId, grants }, adminToken);
}
