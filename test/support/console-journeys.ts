import type { Page } from "playwright-core";
import { expect } from "vitest";
import { expectAccessible, expectAccessibleAtBothSizes, saveScreenshot } from "./console-browser.ts";
import { checkStatus, grpc } from "./grpc-stubs.ts";
import { AUTH, loginTokens, ok, uniqueName } from "./identity.ts";

/** A password every console journey's users get (it passes the default policy). */
export const JOURNEY_PASSWORD = "Console-browser-pass-7";

/** A user made by the admin API, signing in with JOURNEY_PASSWORD; the name is `prefix` and a random tail. */
export async function createJourneyUser(
  url: string,
  adminToken: string,
  prefix: string,
  roles: readonly string[] = [],
): Promise<{ id: string; username: string }> {
  const username = uniqueName(prefix);
  const { user } = await ok(
    url,
    "gatehouse.v1.UserService/CreateUser",
    {
      username,
      email: `${username}@example.test`,
      password: JOURNEY_PASSWORD,
      emailVerified: true,
      roles,
    },
    adminToken,
  );
  return { id: user.id, username };
}

export interface JourneyDeps {
  /** The console's origin as the browser opens it. */
  readonly origin: string;
  /** Gatehouse's URL for the test's own API calls. */
  readonly url: string;
  readonly service: { id: string; slug: string };
  readonly adminToken: () => Promise<string>;
  /** An ext_authz client (authorizationClient) on the same Gatehouse. */
  readonly authz: grpc.Client;
}

/** Envoy's Check for a request to the service with this bearer token: the gRPC status code. */
export const check = (deps: JourneyDeps, token: string): Promise<number> =>
  checkStatus(deps.authz, { token, service: deps.service.slug });

export const verify = (deps: JourneyDeps, token: string) =>
  ok(deps.url, `${AUTH}/VerifyToken`, { token, serviceSlug: deps.service.slug });

/**
 * The administrator's journey, on the Users screen of a signed-in console: create a user with
 * metadata (a bad phone number first: the server's violation shows beside the field), grant a
 * service (VerifyToken's answer for the user's open session changes), disable the user (Check
 * denies that session at once). Returns the user's id.
 */
export async function createGrantAndDisable(page: Page, deps: JourneyDeps): Promise<string> {
  const PASSWORD = JOURNEY_PASSWORD;
  // Create a user with local metadata; the server's field violation shows beside the field first.
  const username = uniqueName("ann");
  await page.getByRole("button", { name: "Create user" }).click();
  await page.getByLabel("Username").fill(username);
  await page.getByLabel("Email", { exact: true }).fill(`${username}@example.test`);
  await page.getByLabel("Initial password (optional)").fill(PASSWORD);
  await page.getByLabel("Phone").fill("not a phone");
  await page.getByLabel("Organization").fill("Acme");
  await page.getByLabel("Department").fill("Support");
  await page.getByRole("button", { name: "Create user" }).click();
  const phoneError = page
    .locator(".field-invalid", { has: page.getByLabel("Phone") })
    .locator(".field-error");
  await phoneError.waitFor();
  expect(await page.getByLabel("Phone").getAttribute("aria-invalid")).toBe("true");
  await expectAccessibleAtBothSizes(page, "create user");
  await saveScreenshot(page, "create-user");
  await page.getByLabel("Phone").fill("+1 555 0100");
  await page.getByRole("button", { name: "Create user" }).click();
  await page.waitForURL(new RegExp(`${deps.origin}/console/users/[0-9a-f-]{36}$`));
  const userId = page.url().split("/").pop()!;
  await page.getByRole("heading", { level: 1 }).waitFor();
  expect(await page.getByLabel("Phone").inputValue()).toBe("+1 555 0100");
  expect(await page.getByLabel("Organization").inputValue()).toBe("Acme");
  const stored = await ok(deps.url, "gatehouse.v1.UserService/GetUser", { userId }, await deps.adminToken());
  expect(stored.user).toMatchObject({
    username,
    phone: "+1 555 0100",
    organization: "Acme",
    department: "Support",
  });

  // The user signs in elsewhere (an API client): no access to the service yet.
  const userTokens = await loginTokens(deps.url, username, PASSWORD);
  expect((await verify(deps, userTokens.accessToken)).serviceAccess).toMatchObject({
    granted: false,
    denialReason: "no_grant",
  });

  // Grant it in the console: VerifyToken's answer changes.
  await page.getByRole("button", { name: "Add grant" }).click();
  await page.getByLabel("Service 1").selectOption(deps.service.id);
  await page.getByLabel("Role 1").selectOption("editor");
  await page.getByRole("button", { name: "Save grants" }).click();
  await page.getByText("Grants saved").waitFor();
  await page.getByRole("cell", { name: deps.service.slug }).waitFor();
  expect((await verify(deps, userTokens.accessToken)).serviceAccess).toMatchObject({
    granted: true,
    role: "editor",
  });
  expect(await check(deps, userTokens.accessToken)).toBe(grpc.status.OK);
  await expectAccessibleAtBothSizes(page, "user detail");
  await saveScreenshot(page, "user-detail");

  // Disable, after confirming: the user's open session is denied by Check at once.
  await page.getByRole("button", { name: "Disable", exact: true }).click();
  const dialog = page.getByRole("dialog", { name: `Disable ${username}?` });
  await dialog.waitFor();
  await expectAccessible(page, "confirm dialog");
  await dialog.getByRole("button", { name: "Disable user" }).click();
  await page.getByText("Disabled; every session ended.").waitFor();
  await page.locator(".page-header .badge", { hasText: "Disabled" }).waitFor();
  expect(await check(deps, userTokens.accessToken)).toBe(grpc.status.UNAUTHENTICATED);
  return userId;
}
