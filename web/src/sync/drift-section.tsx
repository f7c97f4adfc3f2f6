import { useQuery } from "@connectrpc/connect-query";
import { useState } from "react";
import { UserService } from "../../../src/gen/gatehouse/v1/user_pb.js";
import { useMe } from "../api/me-context.tsx";
import { Button } from "../components/button.tsx";
import { EmptyState, ErrorState, Loading, Notice } from "../components/page-states.tsx";
import { ScrollRegion } from "../components/scroll-region.tsx";
import { Section } from "../components/section.tsx";
import { Link } from "../router/router.tsx";
import { type DriftFix, DriftFixDialog } from "./drift-fix-dialog.tsx";

/**
 * The drift report (GetSyncStatus with drift: reads every Keycloak user, so only on request), each
 * line with its one-click fix, confirmed first; the report is read again after every fix.
 */
export function DriftSection() {
  const me = useMe();
  const [checked, setChecked] = useState(false);
  const [fix, setFix] = useState<DriftFix | undefined>(undefined);
  const [notice, setNotice] = useState<string | undefined>(undefined);
  const drift = useQuery(UserService.method.getSyncStatus, { includeDrift: true }, { enabled: checked });
  const canFix = me.can("users.sync");
  const data = drift.data;
  const total =
    data === undefined ? 0 : data.onlyInKeycloak.length + data.onlyLocal.length + data.differing.length;
  return (
    <Section
      title="Drift"
      description="Users that differ between Keycloak and Gatehouse (reads every Keycloak user)."
      actions={
        <Button
          onClick={() => (checked ? void drift.refetch() : setChecked(true))}
          busy={checked && drift.isFetching}
        >
          Check drift
        </Button>
      }
    >
      {notice === undefined ? null : <Notice>{notice}</Notice>}
      {!checked ? (
        <p className="muted">Not checked yet.</p>
      ) : drift.isPending ? (
        <Loading label="Comparing Keycloak and Gatehouse…" />
      ) : drift.isError ? (
        <ErrorState error={drift.error} title="The drift report could not be made" />
      ) : total === 0 ? (
        <EmptyState title="No drift: Keycloak and Gatehouse agree" />
      ) : (
        <ScrollRegion label="Drift">
          <table className="table">
            <caption className="visually-hidden">Drift between Keycloak and Gatehouse</caption>
            <thead>
              <tr>
                <th scope="col">User</th>
                <th scope="col">Drift</th>
                <th scope="col">
                  <span className="visually-hidden">Fix</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {data!.onlyInKeycloak.map((username) => (
                <tr key={`k:${username}`}>
                  <td className="break">{username}</td>
                  <td>Only in Keycloak</td>
                  <td className="cell-actions">
                    {canFix ? (
                      <Button
                        aria-label={`Import ${username}`}
                        onClick={() => setFix({ kind: "import", username })}
                      >
                        Import
                      </Button>
                    ) : null}
                  </td>
                </tr>
              ))}
              {data!.onlyLocal.map((username) => (
                <tr key={`l:${username}`}>
                  <td className="break">{username}</td>
                  <td>Only in Gatehouse</td>
                  <td className="cell-actions">
                    {canFix ? (
                      <Button
                        aria-label={`Push to Keycloak: ${username}`}
                        onClick={() => setFix({ kind: "create", username })}
                      >
                        Push to Keycloak
                      </Button>
                    ) : null}
                  </td>
                </tr>
              ))}
              {data!.differing.map((row) => (
                <tr key={`d:${row.userId}`}>
                  <td className="break">
                    <Link href={`/console/users/${row.userId}`}>{row.username}</Link>
                  </td>
                  <td>Differs in {row.fields.join(", ")}</td>
                  <td className="cell-actions">
                    {canFix ? (
                      <>
                        <Button
                          aria-label={`Push to Keycloak: ${row.username}`}
                          onClick={() =>
                            setFix({
                              kind: "push",
                              username: row.username,
                              userId: row.userId,
                              fields: row.fields,
                            })
                          }
                        >
                          Push to Keycloak
                        </Button>
                        {row.fields.includes("username") ? null : (
                          <Button
                            variant="ghost"
                            aria-label={`Take Keycloak's values for ${row.username}`}
                            onClick={() =>
                              setFix({ kind: "import", username: row.username, fields: row.fields })
                            }
                          >
                            Take Keycloak's
                          </Button>
                        )}
                      </>
                    ) : null}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </ScrollRegion>
      )}
      <DriftFixDialog
        fix={fix}
        onCancel={() => setFix(undefined)}
        onFixed={(message) => {
          setFix(undefined);
          setNotice(message);
        }}
      />
    </Section>
  );
}
