import { useMutation } from "@connectrpc/connect-query";
import { useState } from "react";
import { AuthService } from "../../../src/gen/gatehouse/v1/auth_pb.js";
import type { User } from "../../../src/gen/gatehouse/v1/types_pb.js";
import { describeError } from "../api/describe-error.ts";
import { useInvalidate } from "../api/invalidate.ts";
import { Button } from "../components/button.tsx";
import { ErrorState, Notice } from "../components/page-states.tsx";
import { Section } from "../components/section.tsx";
import { useSession } from "../session/session-context.tsx";
import { ProfileFields, profileOf, toProfileChanges } from "../users/profile-fields.tsx";

export function AccountProfileSection(props: { user: User }) {
  const invalidate = useInvalidate();
  const keycloak = useSession().config.provider === "keycloak";
  const [draft, setDraft] = useState(profileOf(props.user));
  const [saved, setSaved] = useState(false);
  const update = useMutation(AuthService.method.updateMe, {
    onSuccess: async () => {
      setSaved(true);
      await invalidate(AuthService);
    },
  });
  const errors = update.error === null ? new Map<string, string>() : describeError(update.error).fields;
  return (
    <Section title="Profile">
      <form
        noValidate
        onSubmit={(event) => {
          event.preventDefault();
          setSaved(false);
          update.mutate({ changes: toProfileChanges(draft) });
        }}
      >
        <ProfileFields
          draft={draft}
          onChange={setDraft}
          errors={errors}
          prefix="changes."
          namesReadOnly={keycloak}
        />
        {update.error === null ? null : (
          <ErrorState error={update.error} title="Your profile was not saved" />
        )}
        {saved ? <Notice>Profile saved.</Notice> : null}
        <div className="form-actions">
          <Button type="submit" variant="primary" busy={update.isPending}>
            Save profile
          </Button>
        </div>
      </form>
    </Section>
  );
}
