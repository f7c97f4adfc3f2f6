import { useMutation } from "@connectrpc/connect-query";
import { useState } from "react";
import { AuthService } from "../../../src/gen/gatehouse/v1/auth_pb.js";
import type { User } from "../../../src/gen/gatehouse/v1/types_pb.js";
import { describeError } from "../api/describe-error.ts";
import { Button } from "../components/button.tsx";
import { ErrorState, Notice } from "../components/page-states.tsx";
import { Section } from "../components/section.tsx";
import { TextField } from "../components/text-field.tsx";
import { describePasswordPolicy } from "../session/frontend-config.ts";
import { useSession } from "../session/session-context.tsx";

/** ChangePassword: the current password re-checked; every other session of the user ends. */
export function AccountPasswordSection(props: { user: User }) {
  const session = useSession();
  const [current, setCurrent] = useState("");
  const [next, setNext] = useState("");
  const [done, setDone] = useState(false);
  const change = useMutation(AuthService.method.changePassword, {
    onSuccess: () => {
      setCurrent("");
      setNext("");
      setDone(true);
    },
  });
  const errors = change.error === null ? new Map<string, string>() : describeError(change.error).fields;
  return (
    <Section title="Password" description="Changing it signs you out on your other devices.">
      <form
        noValidate
        onSubmit={(event) => {
          event.preventDefault();
          setDone(false);
          change.mutate({ currentPassword: current, newPassword: next });
        }}
      >
        {/* A hidden username helps password managers file the new password under the right account. */}
        <input
          type="text"
          name="username"
          autoComplete="username"
          value={props.user.username}
          readOnly
          hidden
        />
        <div className="form-grid">
          <TextField
            label="Current password"
            type="password"
            autoComplete="current-password"
            value={current}
            onChange={setCurrent}
            error={errors.get("current_password")}
          />
          <TextField
            label="New password"
            type="password"
            autoComplete="new-password"
            value={next}
            onChange={setNext}
            hint={describePasswordPolicy(session.config.passwordPolicy)}
            error={errors.get("new_password")}
          />
        </div>
        {change.error === null ? null : (
          <ErrorState error={change.error} title="Your password was not changed" />
        )}
        {done ? <Notice>Password changed.</Notice> : null}
        <div className="form-actions">
          <Button
            type="submit"
            variant="primary"
            busy={change.isPending}
            disabled={current === "" || next === ""}
          >
            Change password
          </Button>
        </div>
      </form>
    </Section>
  );
}
