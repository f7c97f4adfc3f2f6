import { useQuery } from "@connectrpc/connect-query";
import { OidcClientType, ServiceRegistryService } from "../../../src/gen/gatehouse/v1/service_registry_pb.js";
import { useMe } from "../api/me-context.tsx";
import { Button } from "../components/button.tsx";
import { EmptyState, ErrorState, Loading } from "../components/page-states.tsx";
import { Pager, useKeysetPages } from "../components/pager.tsx";
import { ScrollRegion } from "../components/scroll-region.tsx";
import { PageHeader, Section } from "../components/section.tsx";
import { Badge } from "../components/status-badge.tsx";
import { Link, navigate, useTitle } from "../router/router.tsx";

const PAGE_SIZE = 50;

/** The built-in OpenID Provider's relying parties; each opens its own page. */
export function OidcClientsPage() {
  useTitle("OIDC clients");
  const me = useMe();
  const pages = useKeysetPages();
  const clients = useQuery(ServiceRegistryService.method.listOidcClients, {
    pageSize: PAGE_SIZE,
    pageToken: pages.pageToken,
  });
  return (
    <>
      <PageHeader
        title="OIDC clients"
        subtitle="Applications that sign people in through Gatehouse's OpenID Provider."
        actions={
          me.can("clients.write") ? (
            <Button variant="primary" onClick={() => navigate("/console/oidc-clients/new")}>
              Register client
            </Button>
          ) : undefined
        }
      />
      <Section title="Clients">
        {clients.isPending ? (
          <Loading />
        ) : clients.isError ? (
          <ErrorState error={clients.error} />
        ) : clients.data.clients.length === 0 ? (
          <EmptyState title="No OIDC clients yet" />
        ) : (
          <ScrollRegion label="OIDC clients">
            <table className="table">
              <thead>
                <tr>
                  <th scope="col">Client</th>
                  <th scope="col">Type</th>
                  <th scope="col" className="hide-narrow">
                    Redirect URIs
                  </th>
                </tr>
              </thead>
              <tbody>
                {clients.data.clients.map((client) => (
                  <tr key={client.id}>
                    <td>
                      <Link className="row-link" href={`/console/oidc-clients/${client.id}`}>
                        {client.name}
                      </Link>{" "}
                      {client.disabled ? <Badge tone="danger">Disabled</Badge> : null}
                      <div className="muted small">
                        <code>{client.clientId}</code>
                      </div>
                    </td>
                    <td>{client.type === OidcClientType.PUBLIC ? "Public" : "Confidential"}</td>
                    <td className="hide-narrow small break">
                      {client.redirectUris.length === 0
                        ? "—"
                        : client.redirectUris.map((uri) => <div key={uri}>{uri}</div>)}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </ScrollRegion>
        )}
        {clients.data === undefined ? null : (
          <Pager
            label="OIDC clients"
            page={pages.page}
            previous={pages.previous}
            next={pages.next(clients.data.nextPageToken)}
          />
        )}
      </Section>
    </>
  );
}
