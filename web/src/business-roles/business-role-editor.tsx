import { create } from "@bufbuild/protobuf";
import { useMutation } from "@connectrpc/connect-query";
import { useState } from "react";
import {
  type BusinessRole,
  RoleService,
  ServiceGrantListSchema,
} from "../../../src/gen/gatehouse/v1/role_pb.js";
import type { Service } from "../../../src/gen/gatehouse/v1/service_registry_pb.js";
import { ServiceGrantSchema } from "../../../src/gen/gatehouse/v1/types_pb.js";
import { describeError } from "../api/describe-error.ts";
import { maxLength, nameRule, problems } from "../api/field-rules.ts";
import { useInvalidate } from "../api/invalidate.ts";
import { Button } from "../components/button.tsx";
import { chosenGrants, type GrantRow, GrantRowsField } from "../components/grant-rows-field.tsx";
import { ErrorState } from "../components/page-states.tsx";
import { TextField } from "../components/text-field.tsx";

/**
 * Creates a business role (no `role`) or edits one: its name, description and the service grants
 * it bundles (UpdateBusinessRole replaces them all when sent). The caller must hold each grant it
 * adds, or `grants.write`; the server's privilege_escalation is shown if not.
 */
export function BusinessRoleEditor(props: {
  role?: BusinessRole;
  services: readonly Service[];
  onDone: () => void;
}) {
  const invalidate = useInvalidate();
  const [name, setName] = useState(props.role?.name ?? "");
  const [description, setDescription] = useState(props.role?.description ?? "");
  const [rows, setRows] = useState<GrantRow[]>(
    props.role?.grants.map((g) => ({ serviceId: g.serviceId, role: g.role })) ?? [],
  );
  const [local, setLocal] = useState<Map<string, string>>(new Map());
  const done = async () => {
    await invalidate(RoleService);
    props.onDone();
  };
  const createRole = useMutation(RoleService.method.createBusinessRole, { onSuccess: done });
  const updateRole = useMutation(RoleService.method.updateBusinessRole, { onSuccess: done });
  const error = createRole.error ?? updateRole.error;
  const errors = local.size > 0 || error === null ? local : describeError(error).fields;
  // Create names them grants[i].…; update wraps them in a list message: grants.grants[i].….
  const prefix = props.role === undefined ? "grants" : "grants.grants";
  return (
    <form
      noValidate
      className="editor"
      aria-label={props.role === undefined ? "New business role" : `Edit ${props.role.name}`}
      onSubmit={(event) => {
        event.preventDefault();
        const found = problems({ name: nameRule(name), description: maxLength(512)(description) });
        setLocal(found);
        if (found.size > 0) return;
        const grants = chosenGrants(rows).map((grant) => create(ServiceGrantSchema, grant));
        if (props.role === undefined) createRole.mutate({ name, description, grants });
        else
          updateRole.mutate({
            businessRoleId: props.role.id,
            ...(name !== props.role.name ? { name } : {}),
            description,
            grants: create(ServiceGrantListSchema, { grants }),
          });
      }}
    >
      <div className="form-grid">
        <TextField label="Business role name" value={name} onChange={setName} error={errors.get("name")} />
        <TextField
          label="Description"
          value={description}
          onChange={setDescription}
          error={errors.get("description")}
        />
      </div>
      <GrantRowsField
        rows={rows}
        services={props.services}
        onChange={setRows}
        errorAt={(index, field) => errors.get(`${prefix}[${index}].${field}`)}
      />
      {error === null ? null : <ErrorState error={error} title="The business role was not saved" />}
      <div className="form-actions">
        <Button onClick={props.onDone}>Cancel</Button>
        <Button type="submit" variant="primary" busy={createRole.isPending || updateRole.isPending}>
          {props.role === undefined ? "Create business role" : "Save business role"}
        </Button>
      </div>
    </form>
  );
}
