import type { IdentityRef } from "../ports/identity-provider.ts";
import type { User } from "./user.ts";

/** What the identity provider needs to find the user. */
export const identityRef = (user: User): IdentityRef => ({
  id: user.id,
  externalId: user.externalId,
  username: user.username,
  email: user.email,
});
