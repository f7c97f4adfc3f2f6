import { create } from "@bufbuild/protobuf";
import { useMutation, useQuery } from "@connectrpc/connect-query";
import { useState } from "react";
import {
  type ServiceAccount,
  ServiceRegistryService,
} from "../../../src/gen/gatehouse/v1/service_registry_pb.js";
import { ServiceGrantSchema } from "../../../src/gen/gatehouse/v1/types_pb.js";
import { describeError } from "../api/describe-error.ts";
import { useInvalidate } from "../api/invalidate.ts";
import { useMe } from "../api/me-context.tsx";
import { Button } from "../components/button.tsx";
import { chosenGrants, type GrantRow, GrantRowsField } from "../components/grant-rows-field.tsx";
import { ErrorState, Loading, Notice } from "../components/page-states.tsx";
import { Section } from "../components/section.tsx";

/** The account's grants on services, replaced all at once (SetServiceAccountGrants, `grants.write`). */
export function ServiceAccountGrantsSection(props: { account: ServiceAccount }) {
  const { account } = props;
  const me = useMe();
  const invalidate = useInvalidate();
  const services = useQuery(ServiceRegistryService.method.listServices, { pageSize: 500 });
  const [rows, setRows] = useState<GrantRow[]>(
    account.grants.map((g) => ({ serviceId: g.serviceId, role: g.role })),
  );
  const [saved, setSaved] = useState(false);
  const save = useMutation(ServiceRegistryService.method.setServiceAccountGrants, {
    onSuccess: async () => {
      setSaved(true);
      await invalidate(ServiceRegistryService);
    },
  });
  const errors = save.error === null ? new Map<string, string>() : describeError(save.error).fields;
  const serviceList = services.data?.services ?? [];
  return (
    <Section title="Grants" description="The services this account may call, and with which role.">
      {services.isPending ? (
        <Loading />
      ) : services.isError ? (
        <ErrorState error={services.error} />
      ) : me.can("grants.write") ? (
        <form
          noValidate
          onSubmit={(event) => {
            event.preventDefault();
            setSaved(false);
            save.mutate({
              serviceAccountId: account.id,
              grants: chosenGrants(rows).map((grant) => create(ServiceGrantSchema, grant)),
            });
          }}
        >
          <GrantRowsField
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
          {saved ? <Notice>Grants saved; they apply to the account's next request.</Notice> : null}
        </form>
      ) : account.grants.length === 0 ? (
        <p className="muted">No grants.</p>
      ) : (
        <ul className="plain-list">
          {account.grants.map((grant) => (
            <li key={`${grant.serviceId}:${grant.role}`}>
              {grant.role} on {serviceList.find((s) => s.id === grant.serviceId)?.slug ?? grant.serviceId}
            </li>
          ))}
        </ul>
      )}
    </Section>
  );
}
