import { create } from "@bufbuild/protobuf";
import { type ServiceGrant, ServiceGrantSchema } from "../gen/gatehouse/v1/types_pb.js";
import type { CommandContext } from "./command.ts";
import type { Clients } from "./connection.ts";
import { UsageError } from "./exit-codes.ts";

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** The one positional argument a command takes (a name or an id), or a usage error naming it. */
export function oneArgument(context: CommandContext, what: string): string {
  if (context.args.length !== 1) throw new UsageError(`name one ${what}`);
  return context.args[0]!;
}

/** GetService's key for a service named by id or by slug. */
export const serviceKey = (slugOrId: string) =>
  UUID.test(slugOrId)
    ? { case: "serviceId" as const, value: slugOrId }
    : { case: "slug" as const, value: slugOrId };

/** A user named by id, username or email: the CLI takes whichever a person remembers. */
export async function resolveUserId(clients: Clients, user: string): Promise<string> {
  if (UUID.test(user)) return user;
  const { users } = await clients.users.listUsers({ query: user, pageSize: 50 });
  const wanted = user.toLowerCase();
  const match = users.find((u) => u.username.toLowerCase() === wanted || u.email.toLowerCase() === wanted);
  if (match === undefined) throw new UsageError(`no user with the username or email "${user}"`);
  return match.id;
}

/** `SLUG:ROLE` pairs (e.g. `billing:editor`) into grants, resolving each slug to its service id. */
export async function parseGrants(clients: Clients, pairs: readonly string[]): Promise<ServiceGrant[]> {
  const ids = new Map<string, string>();
  const grants: ServiceGrant[] = [];
  for (const pair of pairs) {
    const separator = pair.lastIndexOf(":");
    if (separator <= 0 || separator === pair.length - 1) {
      throw new UsageError(`a grant is SERVICE:ROLE (e.g. billing:editor), not "${pair}"`);
    }
    const slug = pair.slice(0, separator);
    const role = pair.slice(separator + 1);
    let serviceId = ids.get(slug);
    if (serviceId === undefined) {
      const { service } = await clients.services.getService({ key: serviceKey(slug) });
      serviceId = service!.id;
      ids.set(slug, serviceId);
    }
    grants.push(create(ServiceGrantSchema, { serviceId, role }));
  }
  return grants;
}

/** Every page of a keyset-paginated list. */
export async function allPages<T>(
  fetchPage: (pageToken: string) => Promise<{ items: T[]; nextPageToken: string }>,
): Promise<T[]> {
  const items: T[] = [];
  let pageToken = "";
  do {
    const page = await fetchPage(pageToken);
    items.push(...page.items);
    pageToken = page.nextPageToken;
  } while (pageToken !== "");
  return items;
}
