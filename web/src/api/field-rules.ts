/**
 * The protos' protovalidate rules, checked in the browser before a call so a person sees the same
 * verdict beside the field at once; the server checks them again and its violations win.
 * Each rule returns the problem, or undefined when the value passes.
 */
export type Rule = (value: string) => string | undefined;

const pattern =
  (regex: RegExp, message: string): Rule =>
  (value) =>
    regex.test(value) ? undefined : message;

/** Service slugs and service account names: ^[a-z][a-z0-9-]{1,62}$. */
export const slugRule = pattern(
  /^[a-z][a-z0-9-]{1,62}$/,
  "2–63 characters: a lower-case letter, then lower-case letters, digits or -",
);

/** RBAC role names: ^[a-z][a-z0-9_.-]{1,63}$. */
export const roleNameRule = pattern(
  /^[a-z][a-z0-9_.-]{1,63}$/,
  "2–64 characters: a lower-case letter, then lower-case letters, digits, _ . or -",
);

/** A role a service defines: ^[a-z][a-z0-9_.-]{0,62}$. */
export const serviceRoleRule = pattern(
  /^[a-z][a-z0-9_.-]{0,62}$/,
  "a lower-case letter, then lower-case letters, digits, _ . or -",
);

/** A host a service answers for: ^[a-z0-9.-]{1,253}(:[0-9]{1,5})?$. */
export const hostRule = pattern(
  /^[a-z0-9.-]{1,253}(:[0-9]{1,5})?$/,
  "a lower-case host name, with an optional :port",
);

/** OIDC client ids: empty (generated) or ^[a-z0-9][a-z0-9._-]{2,63}$. */
export const clientIdRule = pattern(
  /^([a-z0-9][a-z0-9._-]{2,63})?$/,
  "3–64 characters: lower-case letters, digits, . _ or -; empty to have one generated",
);

/** Names and display names: 1–128 characters on one line. */
export const nameRule: Rule = (value) =>
  value.length === 0
    ? "is required"
    : value.length > 128
      ? "at most 128 characters"
      : /[\r\n]/.test(value)
        ? "must be on one line"
        : undefined;

export const maxLength =
  (max: number): Rule =>
  (value) =>
    value.length > max ? `at most ${max} characters` : undefined;

const LOOPBACK_HTTP = /^http:\/\/(localhost|127\.0\.0\.1|\[::1\])(:[0-9]{1,5})?([/?]|$)/;

/** RedirectUriList's rule: absolute, https or http on a loopback host, no fragment. */
export const redirectUriRule: Rule = (value) => {
  if (!URL.canParse(value)) return "must be an absolute URI";
  if (value.includes("#")) return "must not contain a fragment";
  return value.startsWith("https://") || LOOPBACK_HTTP.test(value)
    ? undefined
    : "must be https, or http on localhost, 127.0.0.1 or [::1]";
};

/** The back-channel logout URI: empty, or absolute http(s) without a fragment. */
export const backchannelLogoutUriRule: Rule = (value) =>
  value === "" || (URL.canParse(value) && /^https?:\/\//.test(value) && !value.includes("#"))
    ? undefined
    : "must be an absolute http or https URI without a fragment";

/** The first problem with a list's items, named by its position as the server names it. */
export function listProblem(items: readonly string[], rule: Rule, max: number): string | undefined {
  if (items.length > max) return `at most ${max} entries`;
  if (new Set(items).size !== items.length) return "entries must be unique";
  for (const [index, item] of items.entries()) {
    const problem = rule(item);
    if (problem !== undefined) return `line ${index + 1} (${item}): ${problem}`;
  }
  return undefined;
}

/** The checks of a form: field path (as the server names it) → problem; empty when all pass. */
export function problems(checks: Record<string, string | undefined>): Map<string, string> {
  return new Map(Object.entries(checks).filter((entry): entry is [string, string] => entry[1] !== undefined));
}
