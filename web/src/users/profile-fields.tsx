import { create } from "@bufbuild/protobuf";
import {
  LinkListSchema,
  LinkSchema,
  type ProfileChanges,
  ProfileChangesSchema,
  type User,
} from "../../../src/gen/gatehouse/v1/types_pb.js";
import { Button } from "../components/button.tsx";
import { TextField } from "../components/text-field.tsx";

/** The editable profile: identity names and Gatehouse's local metadata (seed 003). */
export interface ProfileDraft {
  firstName: string;
  middleName: string;
  lastName: string;
  phone: string;
  telegram: string;
  organization: string;
  department: string;
  title: string;
  links: { label: string; url: string }[];
}

export const EMPTY_PROFILE: ProfileDraft = {
  firstName: "",
  middleName: "",
  lastName: "",
  phone: "",
  telegram: "",
  organization: "",
  department: "",
  title: "",
  links: [],
};

export function profileOf(user: User): ProfileDraft {
  return {
    firstName: user.firstName,
    middleName: user.middleName,
    lastName: user.lastName,
    phone: user.phone,
    telegram: user.telegram,
    organization: user.organization,
    department: user.department,
    title: user.title,
    links: user.links.map((link) => ({ label: link.label, url: link.url })),
  };
}

/** Every field set (empty clears it): the form shows the whole profile. */
export function toProfileChanges(draft: ProfileDraft): ProfileChanges {
  const { links, ...fields } = draft;
  return create(ProfileChangesSchema, {
    ...fields,
    links: create(LinkListSchema, {
      links: links.filter((l) => l.label !== "" || l.url !== "").map((l) => create(LinkSchema, l)),
    }),
  });
}

const FIELDS: ReadonlyArray<[keyof Omit<ProfileDraft, "links">, string, string?]> = [
  ["firstName", "First name", "given-name"],
  ["middleName", "Middle name", "additional-name"],
  ["lastName", "Last name", "family-name"],
  ["phone", "Phone", "tel"],
  ["telegram", "Telegram", "off"],
  ["organization", "Organization", "organization"],
  ["department", "Department", "off"],
  ["title", "Title", "organization-title"],
];

/**
 * The profile inputs with the server's violations beside each (`prefix` is the request's path to
 * the ProfileChanges message: "profile." for CreateUser/UpdateUser, "changes." for UpdateMe).
 */
export function ProfileFields(props: {
  draft: ProfileDraft;
  onChange: (draft: ProfileDraft) => void;
  errors: ReadonlyMap<string, string>;
  prefix: string;
  /** Names owned by Keycloak are edited there (read-only here). */
  namesReadOnly?: boolean;
}) {
  const { draft, onChange, errors, prefix } = props;
  const error = (field: string) => errors.get(`${prefix}${field}`);
  const readOnly = (field: string) =>
    props.namesReadOnly === true && (field === "firstName" || field === "lastName");
  return (
    <>
      <div className="form-grid">
        {FIELDS.map(([field, label, autoComplete]) => (
          <TextField
            key={field}
            label={label}
            value={draft[field]}
            autoComplete={autoComplete}
            readOnly={readOnly(field)}
            hint={
              readOnly(field) ? "Managed in Keycloak" : field === "phone" ? "E.g. +1 555 0100" : undefined
            }
            error={error(snake(field))}
            onChange={(value) => onChange({ ...draft, [field]: value })}
          />
        ))}
      </div>
      <fieldset className="links">
        <legend>Links</legend>
        {draft.links.map((link, index) => (
          // biome-ignore lint/suspicious/noArrayIndexKey: rows have no identity but their position
          <div className="link-row" key={index}>
            <TextField
              label={`Link ${index + 1} label`}
              value={link.label}
              error={error(`links.links[${index}].label`)}
              onChange={(label) =>
                onChange({ ...draft, links: replace(draft.links, index, { ...link, label }) })
              }
            />
            <TextField
              label={`Link ${index + 1} URL`}
              type="url"
              value={link.url}
              error={error(`links.links[${index}].url`)}
              onChange={(url) => onChange({ ...draft, links: replace(draft.links, index, { ...link, url }) })}
            />
            <Button
              variant="ghost"
              aria-label={`Remove link ${index + 1}`}
              onClick={() => onChange({ ...draft, links: draft.links.filter((_, i) => i !== index) })}
            >
              Remove
            </Button>
          </div>
        ))}
        <Button onClick={() => onChange({ ...draft, links: [...draft.links, { label: "", url: "" }] })}>
          Add link
        </Button>
      </fieldset>
    </>
  );
}

const snake = (name: string) => name.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
const replace = <T,>(list: T[], index: number, value: T) =>
  list.map((item, i) => (i === index ? value : item));
