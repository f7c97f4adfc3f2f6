import { useMutation, useQuery } from "@connectrpc/connect-query";
import { useState } from "react";
import { ServiceRegistryService } from "../../../src/gen/gatehouse/v1/service_registry_pb.js";
import { describeError } from "../api/describe-error.ts";
import { maxLength, problems, slugRule } from "../api/field-rules.ts";
import { useInvalidate } from "../api/invalidate.ts";
import { useMe } from "../api/me-context.tsx";
import { Button } from "../components/button.tsx";
import { formatTime } from "../components/format.ts";
import { EmptyState, ErrorState, Loading } from "../components/page-states.tsx";
import { Pager, useKeysetPages } from "../components/pager.tsx";
import { ScrollRegion } from "../components/scroll-region.tsx";
import { SecretOnce } from "../components/secret-once.tsx";
import { PageHeader, Section } from "../components/section.tsx";
import { Badge } from "../components/status-badge.tsx";
import { TextField } from "../components/text-field.tsx";
import { Link, useTitle } from "../router/router.tsx";

const PAGE_SIZE = 50;

/** Service accounts (client-credentials clients): the list, and creating one (its secret shown once). */
export function ServiceAccountsPage() {
  useTitle("Service accounts");
  const me = useMe();
  const invalidate = useInvalidate();
  const pages = useKeysetPages();
  const accounts = useQuery(ServiceRegistryService.method.listServiceAccounts, {
    pageSize: PAGE_SIZE,
    pageToken: pages.pageToken,
  });
  const [name, setName] = useState("");
  const [description, setDescription] = useState("");
  const [local, setLocal] = useState<Map<string, string>>(new Map());
  const [secret, setSecret] = useState<{ clientId: string; secret: string; id: string } | undefined>(
    undefined,
  );
  const create = useMutation(ServiceRegistryService.method.createServiceAccount, {
    onSuccess: async (response) => {
      setName("");
      setDescription("");
      const account = response.serviceAccount!;
      setSecret({ clientId: account.clientId, secret: response.clientSecret, id: account.id });
      await invalidate(ServiceRegistryService);
    },
  });
  const errors = local.size > 0 || create.error === null ? local : describeError(create.error).fields;
  return (
    <>
      <PageHeader
        title="Service accounts"
        subtitle="Machine clients that get tokens with client credentials (ClientCredentialsToken)."
      />
      {secret === undefined ? null : (
        <>
          <SecretOnce clientId={secret.clientId} secret={secret.secret} onDone={() => setSecret(undefined)} />
          <p>
            <Link href={`/console/service-accounts/${secret.id}`}>Give {secret.clientId} its grants</Link>
          </p>
        </>
      )}
      {me.can("services.write") ? (
        <Section title="New service account">
          <form
            noValidate
            className="inline-form"
            onSubmit={(event) => {
              event.preventDefault();
              const found = problems({ name: slugRule(name), description: maxLength(1024)(description) });
              setLocal(found);
              if (found.size === 0) create.mutate({ name, description });
            }}
          >
            <TextField
              label="Name"
              value={name}
              onChange={setName}
              hint="Lower case, digits and -; it becomes the client id"
              error={errors.get("name")}
            />
            <TextField
              label="Description"
              value={description}
              onChange={setDescription}
              error={errors.get("description")}
            />
            <Button type="submit" variant="primary" busy={create.isPending}>
              Create service account
            </Button>
          </form>
          {create.error === null || errors.size > 0 ? null : (
            <ErrorState error={create.error} title="The service account was not created" />
          )}
        </Section>
      ) : null}
      <Section title="Service accounts">
        {accounts.isPending ? (
          <Loading />
        ) : accounts.isError ? (
          <ErrorState error={accounts.error} />
        ) : accounts.data.serviceAccounts.length === 0 ? (
          <EmptyState title="No service accounts yet" />
        ) : (
          <ScrollRegion label="Service accounts">
            <table className="table">
              <thead>
                <tr>
                  <th scope="col">Client id</th>
                  <th scope="col">Grants</th>
                  <th scope="col" className="hide-narrow">
                    Secret rotated
                  </th>
                </tr>
              </thead>
              <tbody>
                {accounts.data.serviceAccounts.map((account) => (
                  <tr key={account.id}>
                    <td>
                      <Link className="row-link" href={`/console/service-accounts/${account.id}`}>
                        {account.clientId}
                      </Link>{" "}
                      {account.disabled ? <Badge tone="danger">Disabled</Badge> : null}
                      <div className="muted small">{account.description}</div>
                    </td>
                    <td>{account.grants.length}</td>
                    <td className="hide-narrow">
                      {formatTime(account.secretRotateDate ?? account.creationDate)}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </ScrollRegion>
        )}
        {accounts.data === undefined ? null : (
          <Pager
            label="Service accounts"
            page={pages.page}
            previous={pages.previous}
            next={pages.next(accounts.data.nextPageToken)}
          />
        )}
      </Section>
    </>
  );
}
