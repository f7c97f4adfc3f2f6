import { useMutation, useQuery } from "@connectrpc/connect-query";
import { useState } from "react";
import { RoleService } from "../../../src/gen/gatehouse/v1/role_pb.js";
import type { User } from "../../../src/gen/gatehouse/v1/types_pb.js";
import { UserService } from "../../../src/gen/gatehouse/v1/user_pb.js";
import { useInvalidate } from "../api/invalidate.ts";
import { useMe } from "../api/me-context.tsx";
import { Button } from "../components/button.tsx";
import { ErrorState, Loading, Notice } from "../components/page-states.tsx";
import { Section } from "../components/section.tsx";

/** RBAC roles and business roles, each replaced as a whole (SetUserRoles, SetUserBusinessRoles). */
export function UserRolesSection(props: { user: User }) {
  const { user } = props;
  const me = useMe();
  const invalidate = useInvalidate();
  const canRead = me.can("roles.read");
  const canAssign = me.can("roles.assign");
  const roles = useQuery(RoleService.method.listRoles, { pageSize: 500 }, { enabled: canRead });
  const businessRoles = useQuery(
    RoleService.method.listBusinessRoles,
    { pageSize: 500 },
    { enabled: canRead },
  );
  const [selected, setSelected] = useState<string[]>(user.roles);
  const [selectedBusiness, setSelectedBusiness] = useState<string[]>(user.businessRoleIds);
  const [saved, setSaved] = useState(false);
  const setRoles = useMutation(UserService.method.setUserRoles);
  const setBusiness = useMutation(UserService.method.setUserBusinessRoles);
  const error = setRoles.error ?? setBusiness.error;

  if (!canRead) {
    return (
      <Section title="Roles">
        <p>{user.roles.join(", ") || "No roles."}</p>
      </Section>
    );
  }
  const toggle = (list: string[], value: string, on: boolean) =>
    on ? [...list, value] : list.filter((v) => v !== value);
  const save = async () => {
    setSaved(false);
    await setRoles.mutateAsync({ userId: user.id, roles: selected });
    await setBusiness.mutateAsync({ userId: user.id, businessRoleIds: selectedBusiness });
    setSaved(true);
    await invalidate(UserService);
  };
  return (
    <Section
      title="Roles"
      description="RBAC roles give Gatehouse permissions; business roles bundle service grants."
    >
      {roles.isPending || businessRoles.isPending ? (
        <Loading />
      ) : roles.isError ? (
        <ErrorState error={roles.error} />
      ) : (
        <div className="two-columns">
          <fieldset className="checkbox-list" disabled={!canAssign}>
            <legend>RBAC roles</legend>
            {roles.data.roles.map((role) => (
              <label className="checkbox" key={role.id}>
                <input
                  type="checkbox"
                  checked={selected.includes(role.name)}
                  onChange={(e) => setSelected(toggle(selected, role.name, e.target.checked))}
                />
                {role.name}
              </label>
            ))}
          </fieldset>
          <fieldset className="checkbox-list" disabled={!canAssign}>
            <legend>Business roles</legend>
            {(businessRoles.data?.businessRoles ?? []).length === 0 ? (
              <p className="muted">None defined.</p>
            ) : null}
            {(businessRoles.data?.businessRoles ?? []).map((role) => (
              <label className="checkbox" key={role.id}>
                <input
                  type="checkbox"
                  checked={selectedBusiness.includes(role.id)}
                  onChange={(e) => setSelectedBusiness(toggle(selectedBusiness, role.id, e.target.checked))}
                />
                {role.name}
              </label>
            ))}
          </fieldset>
        </div>
      )}
      {error === null ? null : <ErrorState error={error} title="The roles were not saved" />}
      {saved ? <Notice>Roles saved.</Notice> : null}
      {canAssign ? (
        <div className="form-actions">
          <Button
            variant="primary"
            busy={setRoles.isPending || setBusiness.isPending}
            onClick={() => void save().catch(() => {})}
          >
            Save roles
          </Button>
        </div>
      ) : null}
    </Section>
  );
}
