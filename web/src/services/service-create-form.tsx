import { useMutation } from "@connectrpc/connect-query";
import { useState } from "react";
import { ServiceRegistryService } from "../../../src/gen/gatehouse/v1/service_registry_pb.js";
import { describeError } from "../api/describe-error.ts";
import { useInvalidate } from "../api/invalidate.ts";
import { Button } from "../components/button.tsx";
import { ErrorState } from "../components/page-states.tsx";
import { TextField } from "../components/text-field.tsx";

/** CreateService with the default roles (viewer < editor < owner). */
export function ServiceCreateForm() {
  const invalidate = useInvalidate();
  const [slug, setSlug] = useState("");
  const [displayName, setDisplayName] = useState("");
  const create = useMutation(ServiceRegistryService.method.createService, {
    onSuccess: async () => {
      setSlug("");
      setDisplayName("");
      await invalidate(ServiceRegistryService);
    },
  });
  const errors = create.error === null ? new Map<string, string>() : describeError(create.error).fields;
  return (
    <form
      noValidate
      className="inline-form"
      onSubmit={(event) => {
        event.preventDefault();
        create.mutate({ slug, displayName: displayName || slug });
      }}
    >
      <TextField
        label="New service slug"
        value={slug}
        onChange={setSlug}
        error={errors.get("slug")}
        hint="Lower case, digits and -"
      />
      <TextField
        label="Display name"
        value={displayName}
        onChange={setDisplayName}
        error={errors.get("display_name")}
      />
      <Button type="submit" busy={create.isPending}>
        Register service
      </Button>
      {create.error === null || errors.size > 0 ? null : <ErrorState error={create.error} />}
    </form>
  );
}
