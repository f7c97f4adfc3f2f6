import { ok, uniqueName } from "./identity.ts";

/** Admin-side fixtures for registry and decision tests (identity.ts has the sign-in helpers). */

export async function createUser(
  baseUrl: string,
  adminToken: string,
  overrides: Record<string, unknown> = {},
): Promise<{ id: string; username: string; password: string }> {
  const username = uniqueName("user");
  const password = "User-pass-12345!";
  const response = await ok(
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
  const slug = uniqueName("svc");
  const response = await ok(
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
  await ok(baseUrl, "gatehouse.v1.UserService/SetServiceGrants", { userId, grants }, adminToken);
}
