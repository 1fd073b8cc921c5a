/** The tenant's deployment targets and agents (names instead of ids, and the forms' choices). */
import type { Agent, Collection, DeploymentTarget } from './resources';
import { useApi } from './use-api';

/** Deployment targets by id, plus the list; empty while loading. */
export function useDeploymentTargets() {
  const { data, error, reload } = useApi<Collection<DeploymentTarget>>('deployment-targets?limit=1000');
  const list = [...(data?.items ?? [])].sort((a, b) => a.properties.name.localeCompare(b.properties.name));
  const byId = new Map(list.map((t) => [t.id, t]));
  return { list, byId, error, reload, loaded: data !== undefined, name: (id: string) => byId.get(id)?.properties.name ?? id };
}

/** Agents by id, plus the list; empty while loading. */
export function useAgents() {
  const { data, error } = useApi<Collection<Agent>>('agents?limit=1000');
  const list = [...(data?.items ?? [])].sort((a, b) => a.properties.name.localeCompare(b.properties.name));
  const byId = new Map(list.map((a) => [a.id, a]));
  return { list, byId, error, loaded: data !== undefined, name: (id: string) => byId.get(id)?.properties.name ?? id };
}
