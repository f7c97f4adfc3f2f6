import { useMutation } from "@connectrpc/connect-query";
import { startRegistration } from "@simplewebauthn/browser";
import { useState } from "react";
import { AuthService } from "../../../src/gen/gatehouse/v1/auth_pb.js";
import { describeError } from "../api/describe-error.ts";
import { Button } from "../components/button.tsx";
import { ErrorState } from "../components/page-states.tsx";
import { TextField } from "../components/text-field.tsx";
import { describeCeremonyError } from "./passkey-ceremony-error.ts";

/**
 * Adds a passkey: BeginPasskeyRegistration gives the creation options, the browser asks the
 * authenticator (startRegistration), FinishPasskeyRegistration verifies and stores the answer.
 * The name is sent with both, so the person's choice wins over the authenticator's default.
 */
export function PasskeyAddForm(props: { onAdded: (name: string) => void; onCancel: () => void }) {
  const [name, setName] = useState("");
  const [ceremonyError, setCeremonyError] = useState<string | undefined>(undefined);
  const [asking, setAsking] = useState(false);
  const begin = useMutation(AuthService.method.beginPasskeyRegistration);
  const finish = useMutation(AuthService.method.finishPasskeyRegistration);
  const failed = begin.error ?? finish.error;
  const fields = failed === null ? new Map<string, string>() : describeError(failed).fields;

  async function add() {
    setCeremonyError(undefined);
    begin.reset();
    finish.reset();
    const started = await begin.mutateAsync({ name: name.trim() }).catch(() => undefined);
    if (started === undefined) return;
    let credential: Awaited<ReturnType<typeof startRegistration>>;
    setAsking(true);
    try {
      credential = await startRegistration({ optionsJSON: JSON.parse(started.optionsJson) });
    } catch (error) {
      setCeremonyError(describeCeremonyError(error));
      return;
    } finally {
      setAsking(false);
    }
    const done = await finish
      .mutateAsync({
        ceremonyId: started.ceremonyId,
        credentialJson: JSON.stringify(credential),
        name: name.trim(),
      })
      .catch(() => undefined);
    if (done !== undefined) props.onAdded(done.passkey?.name || name.trim() || "Passkey");
  }

  return (
    <form
      noValidate
      className="inline-form"
      aria-label="Add a passkey"
      onSubmit={(event) => {
        event.preventDefault();
        void add();
      }}
    >
      <TextField
        label="Name"
        hint="So you can tell your passkeys apart, e.g. “Work laptop”."
        maxLength={64}
        autoComplete="off"
        value={name}
        onChange={setName}
        error={fields.get("name")}
      />
      <Button type="submit" variant="primary" busy={begin.isPending || asking || finish.isPending}>
        Create passkey
      </Button>
      <Button onClick={props.onCancel}>Cancel</Button>
      {ceremonyError === undefined ? null : (
        <div className="state state-error" role="alert">
          <p className="state-title">No passkey was added</p>
          <p>{ceremonyError}</p>
        </div>
      )}
      {failed === null || fields.has("name") ? null : (
        <ErrorState error={failed} title="No passkey was added" />
      )}
    </form>
  );
}
