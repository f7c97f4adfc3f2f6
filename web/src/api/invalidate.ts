import type { DescService } from "@bufbuild/protobuf";
import { useQueryClient } from "@tanstack/react-query";

/** After a write: every cached answer of these services is refetched (connect-query's key prefix). */
export function useInvalidate(): (...services: DescService[]) => Promise<void> {
  const queryClient = useQueryClient();
  return async (...services) => {
    await Promise.all(
      services.map((service) =>
        queryClient.invalidateQueries({ queryKey: ["connect-query", { serviceName: service.typeName }] }),
      ),
    );
  };
}
