import { create } from "@bufbuild/protobuf";
import { useMutation, useQuery } from "@connectrpc/connect-query";
import { useEffect, useState } from "react";
import { ServiceRegistryService } from "../../../src/gen/gatehouse/v1/service_registry_pb.js";
import { ServiceGrantSchema, type User } from "../../../src/gen/gatehouse/v1/types_pb.js";
import { UserService } from "../../../src/gen/gatehouse/v1/user_pb.js";
import { describeError } from "../api/describe-error.ts";
import { useInvalidate } from "../api/invalidate.ts";
import { useMe } from "../api/me-context.tsx";
import { Button } from "../components/button.tsx";
import { chosenGrants, type GrantRow, GrantRowsField } from "../components/grant-rows-field.tsx";
import { EmptyState, ErrorState, Loading, Notice } from "../components/page-states.tsx";
import { ScrollRegion } from "../components/scroll-region.tsx";
import { Section } from "../components/section.tsx";

/**
 * Direct service grants, edited as a list and saved in one replace-all call (SetServiceGrants,
 * seed 003's PUT …/services), beside the effective access they add up to with business roles.
 */
export function UserGrantsSection(props: { user: User }) {
  const { user } = props;
  const me = useMe();
  const invalidate = useInvalidate();
  const grants = useQuery(UserService.method.listServiceGrants, { userId: user.id });
  const services = useQuery(
    ServiceRegistryService.method.listServices,
    { pageSize: 500 },
    { enabled: me.can("services.read") },
  );
  const [rows, setRows] = useState<GrantRow[] | undefined>(undefined);
  const [saved, setSaved] = useState(false);
  useEffect(() => {
    if (grants.data !== undefined && rows === undefined)
      setRows(grants.data.directGrants.map((g) => ({ serviceId: g.serviceId, role: g.role })));
  }, [grants.data, rows]);
  const save = useMutation(UserService.method.setServiceGrants, {
    onSuccess: async (response) => {
      setSaved(true);
      setRows(response.grants.map((g) => ({ serviceId: g.serviceId, role: g.role })));
      await invalidate(UserService);
    },
  });
  const canWrite = me.can("grants.write") && me.can("services.read");
  const serviceList = services.data?.services ?? [];
  const errors = save.error === null ? new Map<string, string>() : describeError(save.error).fields;

  if (grants.isPending)
    return (
      <Section title="Service access">
        <Loading />
      </Section>
    );
  if (grants.isError)
    return (
      <Section title="Service access">
        <ErrorState error={grants.error} />
      </Section>
    );
  const effective = grants.data.effectiveGrants;
  return (
    <Section title="Service access" description="Which services this user may call, and with which role.">
      {canWrite && rows !== undefined ? (
        <form
          noValidate
          onSubmit={(event) => {
            event.preventDefault();
            setSaved(false);
            save.mutate({
              userId: user.id,
              grants: chosenGrants(rows).map((grant) => create(ServiceGrantSchema, grant)),
            });
          }}
        >
          <GrantRowsField
            legend="Direct grants"
            rows={rows}
            services={serviceList}
            onChange={setRows}
            errorAt={(index, field) => errors.get(`grants[${index}].${field}`)}
          />
          <div className="form-actions">
            <Button type="submit" variant="primary" busy={save.isPending}>
              Save grants
            </Button>
          </div>
          {save.error === null ? null : <ErrorState error={save.error} title="The grants were not saved" />}
          {saved ? <Notice>Grants saved; they apply to the next decision.</Notice> : null}
        </form>
      ) : null}
      <h3>Effective access</h3>
      {effective.length === 0 ? (
        <EmptyState title="No access to any service" />
      ) : (
        <ScrollRegion label="Effective access">
          <table className="table">
            <thead>
              <tr>
                <th scope="col">Service</th>
                <th scope="col">Role</th>
                <th scope="col">Through</th>
              </tr>
            </thead>
            <tbody>
              {effective.map((grant) => (
                <tr key={`${grant.serviceId}:${grant.role}:${grant.source}`}>
                  <td>{grant.serviceSlug}</td>
                  <td>{grant.role}</td>
                  <td>{grant.source}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </ScrollRegion>
      )}
    </Section>
  );
}
