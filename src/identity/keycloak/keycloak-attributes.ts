import { METADATA_FIELD_NAMES, type UserMetadata } from "../../domain/sync/sync-ports.ts";
import type { Link } from "../../domain/users/user.ts";

/** Absent fields are left as they are; an empty value removes the attribute. */
export type ProfileMetadataChanges = Partial<UserMetadata>;

/**
 * The attribute of each metadata field: named like the proto field. The
 * realm's user profile keeps unmanaged attributes (unmanagedAttributePolicy
 * ENABLED), so these round-trip through the admin API unchanged. `links` is
 * multi-valued: one JSON object ({"label","url"}) per value, so labels may
 * hold any character.
 */
export const METADATA_ATTRIBUTES = METADATA_FIELD_NAMES;

export type Attributes = Record<string, string[]>;

const SINGLE_VALUED = ["middleName", "phone", "telegram", "organization", "department", "title"] as const;

/** Reads the metadata out of a user's attributes; missing or malformed values read as empty. */
export function metadataFromAttributes(
  attributes: Readonly<Record<string, unknown>> | undefined,
): UserMetadata {
  const first = (name: string): string => {
    const value = attributes?.[name];
    if (Array.isArray(value)) return typeof value[0] === "string" ? value[0] : "";
    return typeof value === "string" ? value : "";
  };
  const rawLinks = attributes?.[METADATA_ATTRIBUTES.links];
  const links = (Array.isArray(rawLinks) ? rawLinks : []).flatMap((value): Link[] => {
    if (typeof value !== "string") return [];
    try {
      const parsed = JSON.parse(value) as { label?: unknown; url?: unknown };
      return typeof parsed.label === "string" && typeof parsed.url === "string"
        ? [{ label: parsed.label, url: parsed.url }]
        : [];
    } catch {
      return [];
    }
  });
  return {
    middleName: first(METADATA_ATTRIBUTES.middleName),
    phone: first(METADATA_ATTRIBUTES.phone),
    telegram: first(METADATA_ATTRIBUTES.telegram),
    organization: first(METADATA_ATTRIBUTES.organization),
    department: first(METADATA_ATTRIBUTES.department),
    title: first(METADATA_ATTRIBUTES.title),
    links,
  };
}

/**
 * The attributes after applying metadata changes: other attributes (set in
 * Keycloak by someone else) are kept; an empty value removes the attribute.
 */
export function mergeMetadataIntoAttributes(
  attributes: Readonly<Record<string, unknown>> | undefined,
  changes: ProfileMetadataChanges,
): Attributes {
  const merged: Attributes = {};
  for (const [name, value] of Object.entries(attributes ?? {})) {
    if (Array.isArray(value)) merged[name] = value.filter((v): v is string => typeof v === "string");
    else if (typeof value === "string") merged[name] = [value];
  }
  for (const field of SINGLE_VALUED) {
    const value = changes[field];
    if (value === undefined) continue;
    if (value === "") delete merged[METADATA_ATTRIBUTES[field]];
    else merged[METADATA_ATTRIBUTES[field]] = [value];
  }
  if (changes.links !== undefined) {
    if (changes.links.length === 0) delete merged[METADATA_ATTRIBUTES.links];
    else
      merged[METADATA_ATTRIBUTES.links] = changes.links.map((link) =>
        JSON.stringify({ label: link.label, url: link.url }),
      );
  }
  return merged;
}
