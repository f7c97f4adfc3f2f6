import { create } from "@bufbuild/protobuf";
import { useMutation } from "@connectrpc/connect-query";
import { useState } from "react";
import {
  type Permission,
  PermissionListSchema,
  type Role,
  RoleService,
} from "../../../src/gen/gatehouse/v1/role_pb.js";
import { describeError } from "../api/describe-error.ts";
import { maxLength, problems, roleNameRule } from "../api/field-rules.ts";
import { useInvalidate } from "../api/invalidate.ts";
import { Button } from "../components/button.tsx";
import { ErrorState } from "../components/page-states.tsx";
import { TextField } from "../components/text-field.tsx";

/** Creates a role (no `role`) or edits one: name, description, permissions from the catalogue. */
export function RoleEditor(props: { role?: Role; catalogue: readonly Permission[]; onDone: () => void }) {
  const invalidate = useInvalidate();
  const [name, setName] = useState(props.role?.name ?? "");
  const [description, setDescription] = useState(props.role?.description ?? "");
  const [permissions, setPermissions] = useState<string[]>(props.role?.permissions ?? []);
  const done = async () => {
    await invalidate(RoleService);
    props.onDone();
  };
  const createRole = useMutation(RoleService.method.createRole, { onSuccess: done });
  const updateRole = useMutation(RoleService.method.updateRole, { onSuccess: done });
  const error = createRole.error ?? updateRole.error;
  const [local, setLocal] = useState<Map<string, string>>(new Map());
  const errors = local.size > 0 || error === null ? local : describeError(error).fields;
  const builtIn = props.role?.builtIn === true;
  return (
    <form
      noValidate
      className="editor"
      aria-label={props.role === undefined ? "New role" : `Edit ${props.role.name}`}
      onSubmit={(event) => {
        event.preventDefault();
        const found = problems({ name: roleNameRule(name), description: maxLength(512)(description) });
        setLocal(found);
        if (found.size > 0) return;
        const list = create(PermissionListSchema, { permissions });
        if (props.role === undefined) createRole.mutate({ name, description, permissions: list });
        else
          updateRole.mutate({
            roleId: props.role.id,
            ...(name !== props.role.name ? { name } : {}),
            description,
            ...(builtIn ? {} : { permissions: list }),
          });
      }}
    >
      <div className="form-grid">
        <TextField
          label="Role name"
          value={name}
          onChange={setName}
          readOnly={builtIn}
          error={errors.get("name")}
          hint="Lower case, e.g. support"
        />
        <TextField
          label="Description"
          value={description}
          onChange={setDescription}
          error={errors.get("description")}
        />
      </div>
      <fieldset className="checkbox-list permission-grid" disabled={builtIn}>
        <legend>Permissions{builtIn ? " (fixed for built-in roles)" : ""}</legend>
        {props.catalogue.map((permission) => (
          <label className="checkbox" key={permission.name}>
            <input
              type="checkbox"
              checked={permissions.includes(permission.name)}
              onChange={(e) =>
                setPermissions(
                  e.target.checked
                    ? [...permissions, permission.name]
                    : permissions.filter((p) => p !== permission.name),
                )
              }
            />
            <span>
              <code>{permission.name}</code> <span className="muted small">{permission.description}</span>
            </span>
          </label>
        ))}
      </fieldset>
      {error === null ? null : <ErrorState error={error} title="The role was not saved" />}
      <div className="form-actions">
        <Button onClick={props.onDone}>Cancel</Button>
        <Button type="submit" variant="primary" busy={createRole.isPending || updateRole.isPending}>
          {props.role === undefined ? "Create role" : "Save role"}
        </Button>
      </div>
    </form>
  );
}
