import { useMutation } from "@connectrpc/connect-query";
import { useState } from "react";
import { AuthService, type EnrollTotpResponse } from "../../../src/gen/gatehouse/v1/auth_pb.js";
import type { User } from "../../../src/gen/gatehouse/v1/types_pb.js";
import { describeError } from "../api/describe-error.ts";
import { useInvalidate } from "../api/invalidate.ts";
import { Button } from "../components/button.tsx";
import { ConfirmDialog } from "../components/confirm-dialog.tsx";
import { ErrorState, Notice } from "../components/page-states.tsx";
import { Section } from "../components/section.tsx";
import { Badge } from "../components/status-badge.tsx";
import { TextField } from "../components/text-field.tsx";
import { RecoveryCodes } from "./recovery-codes.tsx";

/**
 * Two-factor sign-in with an authenticator app: EnrollTotp shows the QR code and the secret,
 * ConfirmTotp with a first code turns it on and returns the recovery codes (shown once);
 * DisableTotp asks for the password and a second factor again.
 */
export function AccountMfaSection(props: { user: User }) {
  const invalidate = useInvalidate();
  const [enrolment, setEnrolment] = useState<EnrollTotpResponse | undefined>(undefined);
  const [code, setCode] = useState("");
  const [recoveryCodes, setRecoveryCodes] = useState<string[] | undefined>(undefined);
  const [disabling, setDisabling] = useState(false);
  const [password, setPassword] = useState("");
  const [factor, setFactor] = useState("");
  const [notice, setNotice] = useState<string | undefined>(undefined);
  const enroll = useMutation(AuthService.method.enrollTotp, { onSuccess: (r) => setEnrolment(r) });
  const confirm = useMutation(AuthService.method.confirmTotp, {
    onSuccess: async (r) => {
      setEnrolment(undefined);
      setCode("");
      setRecoveryCodes(r.recoveryCodes);
      await invalidate(AuthService);
    },
  });
  const disable = useMutation(AuthService.method.disableTotp, {
    onSuccess: async () => {
      setDisabling(false);
      setPassword("");
      setFactor("");
      setNotice("Two-factor sign-in is off.");
      await invalidate(AuthService);
    },
  });
  const confirmErrors =
    confirm.error === null ? new Map<string, string>() : describeError(confirm.error).fields;
  const disableErrors =
    disable.error === null ? new Map<string, string>() : describeError(disable.error).fields;
  const recovery = /[^0-9]/.test(factor);

  return (
    <Section
      title="Two-factor sign-in"
      description="A code from an authenticator app, asked for after your password."
      actions={props.user.totpEnabled ? <Badge tone="success">On</Badge> : <Badge>Off</Badge>}
    >
      {recoveryCodes !== undefined ? (
        <RecoveryCodes codes={recoveryCodes} onDone={() => setRecoveryCodes(undefined)} />
      ) : enrolment !== undefined ? (
        <div className="enrolment">
          <img
            className="qr"
            src={`data:image/png;base64,${toBase64(enrolment.qrCodePng)}`}
            alt="QR code to scan with your authenticator app"
            width={200}
            height={200}
          />
          <div>
            <p>Scan the code with your authenticator app, or enter this key by hand:</p>
            <p>
              <code className="secret" data-testid="totp-secret">
                {enrolment.secret}
              </code>
            </p>
            <form
              noValidate
              className="inline-form"
              onSubmit={(event) => {
                event.preventDefault();
                confirm.mutate({ code });
              }}
            >
              <TextField
                label="Code from the app"
                inputMode="numeric"
                autoComplete="one-time-code"
                pattern="[0-9]{6}"
                maxLength={6}
                value={code}
                onChange={setCode}
                error={confirmErrors.get("code")}
              />
              <Button type="submit" variant="primary" busy={confirm.isPending}>
                Turn on
              </Button>
              <Button onClick={() => setEnrolment(undefined)}>Cancel</Button>
            </form>
            {confirm.error === null || confirmErrors.size > 0 ? null : <ErrorState error={confirm.error} />}
          </div>
        </div>
      ) : props.user.totpEnabled ? (
        <Button variant="danger" onClick={() => setDisabling(true)}>
          Turn off two-factor sign-in
        </Button>
      ) : (
        <Button variant="primary" busy={enroll.isPending} onClick={() => enroll.mutate({})}>
          Set up an authenticator app
        </Button>
      )}
      {enroll.error === null ? null : <ErrorState error={enroll.error} title="Set-up could not start" />}
      {notice === undefined ? null : <Notice>{notice}</Notice>}
      <ConfirmDialog
        open={disabling}
        title="Turn off two-factor sign-in?"
        confirmLabel="Turn off"
        busy={disable.isPending}
        onCancel={() => setDisabling(false)}
        onConfirm={() =>
          disable.mutate(
            recovery
              ? { password, secondFactor: { case: "recoveryCode", value: factor } }
              : { password, secondFactor: { case: "totpCode", value: factor } },
          )
        }
      >
        <p>Confirm with your password and a current code (or an unused recovery code).</p>
        <TextField
          label="Password"
          type="password"
          autoComplete="current-password"
          value={password}
          onChange={setPassword}
          error={disableErrors.get("password")}
        />
        <TextField
          label="Code or recovery code"
          autoComplete="one-time-code"
          value={factor}
          onChange={setFactor}
          error={disableErrors.get(recovery ? "recovery_code" : "totp_code")}
        />
        {disable.error === null || disableErrors.size > 0 ? null : <ErrorState error={disable.error} />}
      </ConfirmDialog>
    </Section>
  );
}

function toBase64(bytes: Uint8Array): string {
  let binary = "";
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary);
}
