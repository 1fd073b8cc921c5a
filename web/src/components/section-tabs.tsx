/** Tabs between the pages of one area (deployments, deployment targets, agents): links, the current one marked. */
import { Link, useLocation } from '../router';
import { useMe } from '../session';

const DEPLOYMENT_TABS = [
  { href: '/deployments', label: 'Deployments' },
  { href: '/deployment-targets', label: 'Targets', admin: true },
  { href: '/agents', label: 'Agents' },
];

/** The tabs of the deployment area (Targets for admins only: they alone manage targets). */
export function DeploymentTabs() {
  const me = useMe();
  const { path } = useLocation();
  return (
    <nav class="tabs" aria-label="Deployment">
      <ul>
        {DEPLOYMENT_TABS.filter((t) => !t.admin || me.role === 'admin').map((t) => (
          <li key={t.href}><Link href={t.href} aria-current={path === t.href ? 'page' : undefined}>{t.label}</Link></li>
        ))}
      </ul>
    </nav>
  );
}
