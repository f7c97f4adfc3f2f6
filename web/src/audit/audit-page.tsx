import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { useState } from "react";
import { PageHeader } from "../components/section.tsx";
import { SelectField } from "../components/select-field.tsx";
import { TextField } from "../components/text-field.tsx";
import { useTitle } from "../router/router.tsx";
import { AuditTable } from "./audit-table.tsx";

/** A datetime-local value (the browser's local time) as a Timestamp; undefined when empty or invalid. */
function localTime(value: string) {
  const date = new Date(value);
  return value === "" || Number.isNaN(date.getTime()) ? undefined : timestampFromDate(date);
}

/**
 * The audit log: filter by action, actor, subject, outcome and time; the first page follows new
 * events. Any change of filter starts again from the newest page.
 */
export function AuditPage() {
  useTitle("Audit log");
  const [action, setAction] = useState("");
  const [actorId, setActorId] = useState("");
  const [targetId, setTargetId] = useState("");
  const [result, setResult] = useState("");
  const [since, setSince] = useState("");
  const [until, setUntil] = useState("");
  const filter = {
    action: action.trim(),
    actorId: actorId.trim(),
    targetId: targetId.trim(),
    result,
    since: localTime(since),
    until: localTime(until),
  };
  return (
    <>
      <PageHeader title="Audit log" subtitle="Sign-ins and administration, newest first." />
      <div className="filters">
        <TextField
          label="Action"
          placeholder="e.g. auth. or users.create"
          hint="Exact, or a prefix ending in a dot"
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
        <TextField label="From" type="datetime-local" value={since} onChange={setSince} />
        <TextField label="To" type="datetime-local" value={until} onChange={setUntil} />
      </div>
      <AuditTable
        key={JSON.stringify([action, actorId, targetId, result, since, until])}
        filter={filter}
        pageSize={50}
        follow
      />
    </>
  );
}
