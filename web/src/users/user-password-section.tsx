import { useMutation } from "@connectrpc/connect-query";
import { useState } from "react";
import type { User } from "../../../src/gen/gatehouse/v1/types_pb.js";
import { UserService } from "../../../src/gen/gatehouse/v1/user_pb.js";
import { describeError } from "../api/describe-error.ts";
import { Button } from "../components/button.tsx";
import { ErrorState, Notice } from "../components/page-states.tsx";
import { Section } from "../components/section.tsx";
import { TextField } from "../components/text-field.tsx";
import { describePasswordPolicy } from "../session/frontend-config.ts";
import { useSession } from "../session/session-context.tsx";

/** SetUserPassword (built-in provider; under Keycloak passwords are Keycloak's). */
export function UserPasswordSection(props: { user: User }) {
  const session = useSession();
  const [password, setPassword] = useState("");
  const [done, setDone] = useState(false);
  const set = useMutation(UserService.method.setUserPassword, {
    onSuccess: () => {
      setPassword("");
      setDone(true);
    },
  });
  const errors = set.error === null ? new Map<string, string>() : describeError(set.error).fields;
  return (
    <Section title="Password" description="Setting a password ends the user's sessions.">
      <form
        noValidate
        className="inline-form"
        onSubmit={(event) => {
          event.preventDefault();
          setDone(false);
          set.mutate({ userId: props.user.id, password });
        }}
      >
        <TextField
          label="New password"
          type="password"
          autoComplete="new-password"
          value={password}
          onChange={setPassword}
          hint={describePasswordPolicy(session.config.passwordPolicy)}
          error={errors.get("password")}
        />
        <Button type="submit" busy={set.isPending} disabled={password === ""}>
          Set password
        </Button>
      </form>
      {set.error === null || errors.size > 0 ? null : <ErrorState error={set.error} />}
      {done ? <Notice>Password set; the user's sessions ended.</Notice> : null}
    </Section>
  );
}
