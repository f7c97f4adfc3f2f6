import { useMutation } from "@connectrpc/connect-query";
import { useState } from "react";
import type { User } from "../../../src/gen/gatehouse/v1/types_pb.js";
import { UserService } from "../../../src/gen/gatehouse/v1/user_pb.js";
import { describeError } from "../api/describe-error.ts";
import { useInvalidate } from "../api/invalidate.ts";
import { useMe } from "../api/me-context.tsx";
import { Button } from "../components/button.tsx";
import { ErrorState, Notice } from "../components/page-states.tsx";
import { Section } from "../components/section.tsx";
import { TextField } from "../components/text-field.tsx";
import { useSession } from "../session/session-context.tsx";
import { ProfileFields, profileOf, toProfileChanges } from "./profile-fields.tsx";

/** Identity fields and local metadata (UpdateUser; only what changed among username and email). */
export function UserIdentitySection(props: { user: User }) {
  const { user } = props;
  const me = useMe();
  const keycloak = useSession().config.provider === "keycloak";
  const invalidate = useInvalidate();
  const [username, setUsername] = useState(user.username);
  const [email, setEmail] = useState(user.email);
  const [profile, setProfile] = useState(profileOf(user));
  const [saved, setSaved] = useState(false);
  const update = useMutation(UserService.method.updateUser, {
    onSuccess: async () => {
      setSaved(true);
      await invalidate(UserService);
    },
  });
  const errors = update.error === null ? new Map<string, string>() : describeError(update.error).fields;
  const writable = me.can("users.write");
  return (
    <Section
      title="Profile"
      description={
        keycloak ? "Username, email and names are Keycloak's; the rest is Gatehouse's metadata." : undefined
      }
    >
      <form
        noValidate
        onSubmit={(event) => {
          event.preventDefault();
          setSaved(false);
          update.mutate({
            userId: user.id,
            ...(username !== user.username ? { username } : {}),
            ...(email !== user.email ? { email } : {}),
            profile: toProfileChanges(profile),
          });
        }}
      >
        <fieldset disabled={!writable} className="plain">
          <div className="form-grid">
            <TextField
              label="Username"
              value={username}
              onChange={setUsername}
              readOnly={keycloak}
              error={errors.get("username")}
              autoComplete="off"
            />
            <TextField
              label="Email"
              type="email"
              value={email}
              onChange={setEmail}
              readOnly={keycloak}
              error={errors.get("email")}
              autoComplete="off"
            />
          </div>
          <ProfileFields
            draft={profile}
            onChange={setProfile}
            errors={errors}
            prefix="profile."
            namesReadOnly={keycloak}
          />
        </fieldset>
        {update.error === null ? null : (
          <ErrorState error={update.error} title="The changes were not saved" />
        )}
        {saved ? <Notice>Saved.</Notice> : null}
        {writable ? (
          <div className="form-actions">
            <Button type="submit" variant="primary" busy={update.isPending}>
              Save profile
            </Button>
          </div>
        ) : null}
      </form>
    </Section>
  );
}
