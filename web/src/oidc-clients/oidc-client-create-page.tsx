import { useState } from "react";
import type { CreateOidcClientResponse } from "../../../src/gen/gatehouse/v1/service_registry_pb.js";
import { SecretOnce } from "../components/secret-once.tsx";
import { PageHeader, Section } from "../components/section.tsx";
import { Link, navigate, useTitle } from "../router/router.tsx";
import { OidcClientForm } from "./oidc-client-form.tsx";

/** Registers an OIDC client; a confidential one's secret is shown once before its page opens. */
export function OidcClientCreatePage() {
  useTitle("Register an OIDC client");
  const [created, setCreated] = useState<CreateOidcClientResponse | undefined>(undefined);
  const client = created?.client;
  return (
    <>
      <p className="breadcrumb">
        <Link href="/console/oidc-clients">OIDC clients</Link> /
      </p>
      <PageHeader title="Register an OIDC client" />
      {created === undefined || client === undefined ? (
        <Section title="Client settings">
          <OidcClientForm
            writable
            onCreated={(response) => {
              if (response.clientSecret === "") navigate(`/console/oidc-clients/${response.client!.id}`);
              else setCreated(response);
            }}
          />
        </Section>
      ) : (
        <SecretOnce
          clientId={client.clientId}
          secret={created.clientSecret}
          onDone={() => navigate(`/console/oidc-clients/${client.id}`)}
        />
      )}
    </>
  );
}
