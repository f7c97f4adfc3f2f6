import { useState } from "react";
import { Button } from "../components/button.tsx";

/** The recovery codes, shown once: copy or download them before leaving. */
export function RecoveryCodes(props: { codes: readonly string[]; onDone: () => void }) {
  const [copied, setCopied] = useState(false);
  const text = `${props.codes.join("\n")}\n`;
  const download = () => {
    const url = URL.createObjectURL(new Blob([text], { type: "text/plain" }));
    const anchor = document.createElement("a");
    anchor.href = url;
    anchor.download = "gatehouse-recovery-codes.txt";
    anchor.click();
    URL.revokeObjectURL(url);
  };
  return (
    <div className="recovery">
      <p role="status">
        <strong>Two-factor sign-in is on.</strong> Keep these recovery codes somewhere safe: each signs you in
        once without the app. They are not shown again.
      </p>
      <ul className="recovery-codes" aria-label="Recovery codes">
        {props.codes.map((code) => (
          <li key={code}>
            <code>{code}</code>
          </li>
        ))}
      </ul>
      <div className="form-actions">
        <Button
          onClick={() =>
            void navigator.clipboard.writeText(text).then(
              () => setCopied(true),
              () => setCopied(false),
            )
          }
        >
          {copied ? "Copied" : "Copy"}
        </Button>
        <Button onClick={download}>Download</Button>
        <Button variant="primary" onClick={props.onDone}>
          I have saved them
        </Button>
      </div>
    </div>
  );
}
