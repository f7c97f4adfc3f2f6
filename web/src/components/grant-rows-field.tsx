import type { Service } from "../../../src/gen/gatehouse/v1/service_registry_pb.js";
import { Button } from "./button.tsx";
import { SelectField } from "./select-field.tsx";

/** One grant being edited: a service and one of the roles it defines ("" while not chosen). */
export interface GrantRow {
  serviceId: string;
  role: string;
}

/**
 * A list of service grants edited row by row (service, then one of its roles), for whatever holds
 * grants: a business role, a service account. `errorAt` gives the server's violation per row field.
 */
export function GrantRowsField(props: {
  /** The fieldset's legend; "Service grants" unless the holder has other grants beside these. */
  legend?: string;
  rows: readonly GrantRow[];
  services: readonly Service[];
  onChange: (rows: GrantRow[]) => void;
  errorAt?: (index: number, field: "service_id" | "role") => string | undefined;
}) {
  const { rows, services, onChange } = props;
  const replace = (index: number, row: GrantRow) => onChange(rows.map((r, i) => (i === index ? row : r)));
  return (
    <fieldset className="grant-rows">
      <legend>{props.legend ?? "Service grants"}</legend>
      {rows.length === 0 ? <p className="muted">No grants.</p> : null}
      {rows.map((row, index) => {
        const service = services.find((s) => s.id === row.serviceId);
        return (
          // biome-ignore lint/suspicious/noArrayIndexKey: rows have no identity but their position
          <div className="grant-row" key={index}>
            <SelectField
              label={`Service ${index + 1}`}
              value={row.serviceId}
              options={[
                { value: "", label: "Choose a service" },
                ...services.map((s) => ({ value: s.id, label: s.displayName || s.slug })),
              ]}
              onChange={(serviceId) =>
                replace(index, {
                  serviceId,
                  role: services.find((s) => s.id === serviceId)?.roles[0] ?? "",
                })
              }
              error={props.errorAt?.(index, "service_id")}
            />
            <SelectField
              label={`Role ${index + 1}`}
              value={row.role}
              options={(service?.roles ?? []).map((role) => ({ value: role, label: role }))}
              onChange={(role) => replace(index, { ...row, role })}
              error={props.errorAt?.(index, "role")}
            />
            <Button
              variant="ghost"
              aria-label={`Remove grant ${index + 1}`}
              onClick={() => onChange(rows.filter((_, i) => i !== index))}
            >
              Remove
            </Button>
          </div>
        );
      })}
      <Button
        onClick={() => onChange([...rows, { serviceId: "", role: "" }])}
        disabled={services.length === 0}
      >
        Add grant
      </Button>
    </fieldset>
  );
}

/** The rows that name a service, as the API's grants. */
export const chosenGrants = (rows: readonly GrantRow[]): GrantRow[] =>
  rows.filter((row) => row.serviceId !== "").map(({ serviceId, role }) => ({ serviceId, role }));
