/** The tenant's ACME providers (for names instead of ids, and the create form's choices). */
import type { Collection, Provider } from './resources';
import { useApi } from './use-api';

/** Providers by id, plus the list; empty while loading. */
export function useProviders() {
  const { data, error } = useApi<Collection<Provider>>('providers?limit=1000');
  const list = data?.items ?? [];
  const byId = new Map(list.map((p) => [p.id, p]));
  return { list, byId, error, loaded: data !== undefined, name: (id: string) => byId.get(id)?.properties.name ?? id };
}
