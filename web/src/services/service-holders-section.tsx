import { useQuery } from "@connectrpc/connect-query";
import { type Service, ServiceRegistryService } from "../../../src/gen/gatehouse/v1/service_registry_pb.js";
import { HoldersList } from "../components/holders-list.tsx";
import { EmptyState, ErrorState, Loading } from "../components/page-states.tsx";
import { Section } from "../components/section.tsx";
import { Link } from "../router/router.tsx";

/** Who holds grants on a service: users (directly or through a business role), and service accounts. */
export function ServiceHoldersSection(props: { service: Service }) {
  const { service } = props;
  const accounts = useQuery(ServiceRegistryService.method.listServiceAccounts, { pageSize: 500 });
  const holding = (accounts.data?.serviceAccounts ?? []).filter((account) =>
    account.grants.some((grant) => grant.serviceId === service.id),
  );
  return (
    <Section title="Who holds grants on it">
      <h3>Users</h3>
      <HoldersList filter={{ serviceId: service.id }} label={`Users with grants on ${service.slug}`} />
      <h3>Service accounts</h3>
      {accounts.isPending ? (
        <Loading />
      ) : accounts.isError ? (
        <ErrorState error={accounts.error} />
      ) : holding.length === 0 ? (
        <EmptyState title="No service account holds a grant on it" />
      ) : (
        <ul className="plain-list" aria-label={`Service accounts with grants on ${service.slug}`}>
          {holding.map((account) => (
            <li key={account.id}>
              <Link className="row-link" href={`/console/service-accounts/${account.id}`}>
                {account.name || account.clientId}
              </Link>{" "}
              <span className="muted small">
                {account.grants
                  .filter((grant) => grant.serviceId === service.id)
                  .map((grant) => grant.role)
                  .join(", ")}
              </span>
            </li>
          ))}
        </ul>
      )}
    </Section>
  );
}
