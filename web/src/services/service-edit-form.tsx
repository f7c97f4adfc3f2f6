import { create } from "@bufbuild/protobuf";
import { useMutation } from "@connectrpc/connect-query";
import { useState } from "react";
import {
  HostListSchema,
  RoleListSchema,
  type Service,
  ServiceRegistryService,
} from "../../../src/gen/gatehouse/v1/service_registry_pb.js";
import { describeError, errorWithin } from "../api/describe-error.ts";
import { hostRule, listProblem, maxLength, nameRule, problems, serviceRoleRule } from "../api/field-rules.ts";
import { useInvalidate } from "../api/invalidate.ts";
import { Button } from "../components/button.tsx";
import { LinesField, nonBlankLines } from "../components/lines-field.tsx";
import { ErrorState, Notice } from "../components/page-states.tsx";
import { TextField } from "../components/text-field.tsx";

/**
 * UpdateService's fields: display name, description, audience, the roles it defines (lowest
 * first) and its hosts. Removing a role that grants still use is refused by the server
 * (failed_precondition), and shown.
 */
export function ServiceEditForm(props: { service: Service; writable: boolean }) {
  const { service } = props;
  const invalidate = useInvalidate();
  const [displayName, setDisplayName] = useState(service.displayName);
  const [description, setDescription] = useState(service.description);
  const [audience, setAudience] = useState(service.audience);
  const [roles, setRoles] = useState<string[]>(service.roles);
  const [hosts, setHosts] = useState<string[]>(service.hosts);
  const [local, setLocal] = useState<Map<string, string>>(new Map());
  const [saved, setSaved] = useState(false);
  const update = useMutation(ServiceRegistryService.method.updateService, {
    onSuccess: async () => {
      setSaved(true);
      await invalidate(ServiceRegistryService);
    },
  });
  const errors = local.size > 0 || update.error === null ? local : describeError(update.error).fields;
  const fieldError = (path: string) => errorWithin(errors, path);
  return (
    <form
      noValidate
      aria-label={`Edit ${service.slug}`}
      onSubmit={(event) => {
        event.preventDefault();
        setSaved(false);
        const roleList = nonBlankLines(roles);
        const hostList = nonBlankLines(hosts);
        const found = problems({
          display_name: nameRule(displayName),
          description: maxLength(1024)(description),
          audience: maxLength(256)(audience),
          "roles.roles":
            roleList.length === 0
              ? "a service defines at least one role"
              : listProblem(roleList, serviceRoleRule, 32),
          "hosts.hosts": listProblem(hostList, hostRule, 32),
        });
        setLocal(found);
        if (found.size > 0) return;
        update.mutate({
          serviceId: service.id,
          displayName,
          description,
          audience,
          roles: create(RoleListSchema, { roles: roleList }),
          hosts: create(HostListSchema, { hosts: hostList }),
        });
      }}
    >
      <fieldset className="plain" disabled={!props.writable}>
        <legend className="visually-hidden">Service settings</legend>
        <div className="form-grid">
          <TextField
            label="Display name"
            value={displayName}
            onChange={setDisplayName}
            error={errors.get("display_name")}
          />
          <TextField
            label="Audience"
            value={audience}
            onChange={setAudience}
            hint="The token audience the service expects"
            error={errors.get("audience")}
          />
          <TextField
            label="Description"
            value={description}
            onChange={setDescription}
            error={errors.get("description")}
          />
        </div>
        <div className="form-grid">
          <LinesField
            label="Roles"
            lines={roles}
            onChange={setRoles}
            rows={4}
            hint="One per line, lowest first: a later role satisfies a requirement for an earlier one"
            error={fieldError("roles.roles")}
          />
          <LinesField
            label="Hosts"
            lines={hosts}
            onChange={setHosts}
            hint="One per line: host names that map to this service when a route names none"
            error={fieldError("hosts.hosts")}
          />
        </div>
      </fieldset>
      {update.error === null ? null : <ErrorState error={update.error} title="The service was not saved" />}
      {saved ? <Notice>Saved; the next decision uses it.</Notice> : null}
      {props.writable ? (
        <div className="form-actions">
          <Button type="submit" variant="primary" busy={update.isPending}>
            Save service
          </Button>
        </div>
      ) : null}
    </form>
  );
}
