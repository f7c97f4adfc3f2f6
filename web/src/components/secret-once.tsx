import { useState } from "react";
import { Button } from "./button.tsx";

/**
 * A secret the server returns once (a client secret after create or rotation): shown here with a
 * copy button until dismissed, and never again; it lives only in this component's state.
 */
export function SecretOnce(props: { clientId: string; secret: string; onDone: () => void }) {
  const [copied, setCopied] = useState<"yes" | "failed" | undefined>(undefined);
  const copy = () =>
    navigator.clipboard.writeText(props.secret).then(
      () => setCopied("yes"),
      () => setCopied("failed"),
    );
  return (
    <section className="secret-once" aria-label="New client secret">
      <p>
        <strong>Copy the secret of {props.clientId} now:</strong> it is not shown again.
      </p>
      <code className="secret" data-testid="client-secret">
        {props.secret}
      </code>
      <div className="form-actions">
        <Button onClick={() => void copy()}>Copy secret</Button>
        <Button variant="primary" onClick={props.onDone}>
          I have stored it
        </Button>
      </div>
      <p className="small" role="status">
        {copied === "yes"
          ? "Copied to the clipboard."
          : copied === "failed"
            ? "The browser refused the clipboard: select the secret and copy it by hand."
            : ""}
      </p>
    </section>
  );
}
