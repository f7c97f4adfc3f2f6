import { useQuery } from "@connectrpc/connect-query";
import { ServiceRegistryService, ServiceStatus } from "../../../src/gen/gatehouse/v1/service_registry_pb.js";
import { useMe } from "../api/me-context.tsx";
import { EmptyState, ErrorState, Loading } from "../components/page-states.tsx";
import { Pager, useKeysetPages } from "../components/pager.tsx";
import { ScrollRegion } from "../components/scroll-region.tsx";
import { PageHeader, Section } from "../components/section.tsx";
import { Badge } from "../components/status-badge.tsx";
import { Link, useTitle } from "../router/router.tsx";
import { ServiceCreateForm } from "./service-create-form.tsx";

const PAGE_SIZE = 50;

/** Registered services with the roles each defines; each opens its own page. */
export function ServicesPage() {
  useTitle("Services");
  const me = useMe();
  const pages = useKeysetPages();
  const services = useQuery(ServiceRegistryService.method.listServices, {
    pageSize: PAGE_SIZE,
    pageToken: pages.pageToken,
  });
  return (
    <>
      <PageHeader title="Services" subtitle="What Gatehouse decides access to." />
      <Section title="Services">
        {services.isPending ? (
          <Loading />
        ) : services.isError ? (
          <ErrorState error={services.error} />
        ) : services.data.services.length === 0 ? (
          <EmptyState title="No services registered yet" />
        ) : (
          <ScrollRegion label="Services">
            <table className="table">
              <thead>
                <tr>
                  <th scope="col">Service</th>
                  <th scope="col">Roles</th>
                  <th scope="col">Status</th>
                </tr>
              </thead>
              <tbody>
                {services.data.services.map((service) => (
                  <tr key={service.id}>
                    <td>
                      <Link className="row-link" href={`/console/services/${service.id}`}>
                        {service.displayName || service.slug}
                      </Link>
                      <div className="muted small">
                        <code>{service.slug}</code> {service.description}
                      </div>
                    </td>
                    <td>{service.roles.join(" < ")}</td>
                    <td>
                      {service.status === ServiceStatus.DISABLED ? (
                        <Badge tone="danger">Disabled</Badge>
                      ) : (
                        <Badge tone="success">Active</Badge>
                      )}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </ScrollRegion>
        )}
        {services.data === undefined ? null : (
          <Pager
            label="Services"
            page={pages.page}
            previous={pages.previous}
            next={pages.next(services.data.nextPageToken)}
          />
        )}
        {me.can("services.write") ? <ServiceCreateForm /> : null}
      </Section>
    </>
  );
}
