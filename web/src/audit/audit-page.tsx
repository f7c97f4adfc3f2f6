import { useState } from "react";
import { PageHeader } from "../components/section.tsx";
import { SelectField } from "../components/select-field.tsx";
import { TextField } from "../components/text-field.tsx";
import { useTitle } from "../router/router.tsx";
import { AuditTable } from "./audit-table.tsx";

/** The audit log: filter by action, actor, subject and outcome; the first page follows new events. */
export function AuditPage() {
  useTitle("Audit log");
  const [action, setAction] = useState("");
  const [actorId, setActorId] = useState("");
  const [targetId, setTargetId] = useState("");
  const [result, setResult] = useState("");
  return (
    <>
      <PageHeader title="Audit log" subtitle="Sign-ins and administration, newest first." />
      <div className="filters">
        <TextField
          label="Action"
          placeholder="e.g. auth. or users.create"
          value={action}
          onChange={setAction}
        />
        <TextField label="Actor id" value={actorId} onChange={setActorId} />
        <TextField label="Subject id" value={targetId} onChange={setTargetId} />
        <SelectField
          label="Outcome"
          value={result}
          onChange={setResult}
          options={[
            { value: "", label: "Any" },
            { value: "success", label: "Success" },
            { value: "failure", label: "Failure" },
          ]}
        />
      </div>
      <AuditTable
        filter={{ action: action.trim(), actorId: actorId.trim(), targetId: targetId.trim(), result }}
        pageSize={50}
        follow
      />
    </>
  );
}
