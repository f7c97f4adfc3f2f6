import type { User } from "../users/user.ts";

/** The scopes the OpenID Provider serves (OIDC Core §5.4, §11). */
export const SUPPORTED_SCOPES = ["openid", "profile", "email", "phone", "offline_access"] as const;

/** What each scope asks for, in plain words, for the consent page. */
export const SCOPE_DESCRIPTIONS: Readonly<Record<string, string>> = {
  openid: "Know who you are (your account id)",
  profile: "See your name and username",
  email: "See your email address",
  phone: "See your phone number",
  offline_access: "Stay signed in to it while you are away",
};

/** The claims of each scope (OIDC Core §5.4), for UserInfo and discovery. */
export const CLAIMS_SUPPORTED = [
  "sub",
  "name",
  "given_name",
  "family_name",
  "middle_name",
  "preferred_username",
  "updated_at",
  "email",
  "email_verified",
  "phone_number",
] as const;

/** The user's claims a token with these scopes may read (OIDC Core §5.4); `sub` always. */
export function claimsForScopes(user: User, scopes: readonly string[]): Record<string, unknown> {
  const claims: Record<string, unknown> = { sub: user.id };
  if (scopes.includes("profile")) {
    const name = [user.firstName, user.middleName, user.lastName].filter((part) => part !== "").join(" ");
    Object.assign(claims, {
      name: name === "" ? user.username : name,
      given_name: user.firstName,
      family_name: user.lastName,
      middle_name: user.middleName,
      preferred_username: user.username,
      updated_at: Math.floor(user.updatedAt.getTime() / 1000),
    });
  }
  if (scopes.includes("email"))
    Object.assign(claims, { email: user.email, email_verified: user.emailVerified });
  if (scopes.includes("phone") && user.phone !== "") claims.phone_number = user.phone;
  return claims;
}
