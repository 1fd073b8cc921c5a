/** The application shell: the login gate, the header with navigation and the user, and the routes. */
import { useEffect, useState } from 'preact/hooks';
import { errorText } from './api';
import { Link, match, navigate, useLocation } from './router';
import { displayName, useSession } from './session';
import { LoginPage } from './pages/login';
import { DashboardPage } from './pages/dashboard';
import { CertificatesPage } from './pages/certificates';
import { CertificatePage } from './pages/certificate';
import { AutoCertificatesPage } from './pages/auto-certificates';
import { AutoCertificateEditPage, AutoCertificateNewPage } from './pages/auto-certificate-form';
import { AutoCertificatePage } from './pages/auto-certificate';
import { CertificateImportPage } from './pages/certificate-import';
import { ProviderEditPage, ProviderNewPage, ProviderPage, ProvidersPage } from './pages/providers';
import { DnsZonePage, DnsZonesPage } from './pages/dns-zones';
import { DnsZoneEditPage, DnsZoneNewPage } from './pages/dns-zone-form';
import { ChannelPage, ChannelsPage } from './pages/notification-channels';
import { ChannelEditPage, ChannelNewPage } from './pages/notification-channel-form';
import { DeploymentsPage } from './pages/deployments';
import { TargetPage, TargetsPage } from './pages/deployment-targets';
import { TargetEditPage, TargetNewPage } from './pages/deployment-target-form';
import { AgentPage, AgentsPage } from './pages/agents';
import { AgentEditPage, AgentNewPage } from './pages/agent-form';
import { AccountPage } from './pages/account';
import { TokensPage } from './pages/tokens';
import { UsersPage } from './pages/users';
import { PageTitle } from './components/page-title';

const NAV = [
  { href: '/', label: 'Dashboard', active: (p: string) => p === '/' },
  { href: '/certificates', label: 'Certificates', active: (p: string) => p.startsWith('/certificates') },
  { href: '/auto-certificates', label: 'Auto certificates', active: (p: string) => p.startsWith('/auto-certificates') },
  // One entry for the deployment area; its pages (deployments, targets, agents) have tabs.
  { href: '/deployments', label: 'Deployment', active: (p: string) => p === '/deployments' || p.startsWith('/deployment-targets') || p.startsWith('/agents') },
  { href: '/providers', label: 'Providers', active: (p: string) => p.startsWith('/providers'), admin: true },
  { href: '/dns-zones', label: 'DNS zones', active: (p: string) => p.startsWith('/dns-zones'), admin: true },
  { href: '/notification-channels', label: 'Notifications', active: (p: string) => p.startsWith('/notification-channels'), admin: true },
  { href: '/tokens', label: 'API tokens', active: (p: string) => p.startsWith('/tokens'), admin: true },
  { href: '/users', label: 'Users', active: (p: string) => p.startsWith('/users'), admin: true },
];

function Routes({ path }: { path: string }) {
  let m: Record<string, string> | null;
  if (path === '/') return <DashboardPage />;
  if (path === '/certificates') return <CertificatesPage />;
  if (path === '/certificates/import') return <CertificateImportPage />;
  if ((m = match('/certificates/:id', path))) return <CertificatePage key={m.id} id={m.id!} />;
  if (path === '/auto-certificates') return <AutoCertificatesPage />;
  if (path === '/auto-certificates/new') return <AutoCertificateNewPage />;
  if ((m = match('/auto-certificates/:id', path))) return <AutoCertificatePage key={m.id} id={m.id!} />;
  if ((m = match('/auto-certificates/:id/edit', path))) return <AutoCertificateEditPage key={m.id} id={m.id!} />;
  if (path === '/deployments') return <DeploymentsPage />;
  if (path === '/deployment-targets') return <TargetsPage />;
  if (path === '/deployment-targets/new') return <TargetNewPage />;
  if ((m = match('/deployment-targets/:id', path))) return <TargetPage key={m.id} id={m.id!} />;
  if ((m = match('/deployment-targets/:id/edit', path))) return <TargetEditPage key={m.id} id={m.id!} />;
  if (path === '/agents') return <AgentsPage />;
  if (path === '/agents/new') return <AgentNewPage />;
  if ((m = match('/agents/:id', path))) return <AgentPage key={m.id} id={m.id!} />;
  if ((m = match('/agents/:id/edit', path))) return <AgentEditPage key={m.id} id={m.id!} />;
  if (path === '/providers') return <ProvidersPage />;
  if (path === '/providers/new') return <ProviderNewPage />;
  if ((m = match('/providers/:id', path))) return <ProviderPage key={m.id} id={m.id!} />;
  if ((m = match('/providers/:id/edit', path))) return <ProviderEditPage key={m.id} id={m.id!} />;
  if (path === '/dns-zones') return <DnsZonesPage />;
  if (path === '/dns-zones/new') return <DnsZoneNewPage />;
  if ((m = match('/dns-zones/:id', path))) return <DnsZonePage key={m.id} id={m.id!} />;
  if ((m = match('/dns-zones/:id/edit', path))) return <DnsZoneEditPage key={m.id} id={m.id!} />;
  if (path === '/notification-channels') return <ChannelsPage />;
  if (path === '/notification-channels/new') return <ChannelNewPage />;
  if ((m = match('/notification-channels/:id', path))) return <ChannelPage key={m.id} id={m.id!} />;
  if ((m = match('/notification-channels/:id/edit', path))) return <ChannelEditPage key={m.id} id={m.id!} />;
  if (path === '/tokens') return <TokensPage />;
  if (path === '/users') return <UsersPage />;
  if (path === '/account') return <AccountPage />;
  return (
    <>
      <PageTitle title="Not found" />
      <p>There is no page at <code>{path}</code>. <Link href="/">Go to the dashboard</Link>.</p>
    </>
  );
}

/** The whole app. */
export function App() {
  const { me, logout } = useSession();
  const { path, query } = useLocation();
  const [logoutError, setLogoutError] = useState<string | null>(null);

  // The login gate: without a session every page is the login page, with `next` to come back to.
  useEffect(() => {
    if (me === null && path !== '/login') navigate(`/login?next=${encodeURIComponent(path + window.location.search)}`, true);
    if (me && path === '/login') {
      const next = query.get('next');
      navigate(next && next.startsWith('/') && !next.startsWith('//') ? next : '/', true);
    }
  }, [me, path, query]);

  if (me === undefined) return <p class="loading" role="status">Loading…</p>;
  if (me === null) return <LoginPage />;

  return (
    <>
      <a class="skip-link" href="#main">Skip to content</a>
      <header class="topbar">
        <Link href="/" class="brand"><span class="brand-mark" aria-hidden="true" />certkeeper</Link>
        <nav aria-label="Main">
          <ul>
            {NAV.filter((n) => !('admin' in n) || me.role === 'admin').map((n) => (
              <li key={n.href}><Link href={n.href} aria-current={n.active(path) ? 'page' : undefined}>{n.label}</Link></li>
            ))}
          </ul>
        </nav>
        <div class="user">
          <Link href="/account" class="user-name" title={`Your account: ${me.role} in tenant ${me.tenant.name}`} aria-current={path === '/account' ? 'page' : undefined}>{displayName(me)}</Link>
          <span class="badge badge-muted" data-role={me.role}>{me.role}</span>
          <button type="button" class="button button-small" onClick={async () => {
            try {
              setLogoutError(null);
              await logout();
            } catch (err) {
              setLogoutError(errorText(err));
            }
          }}>Log out</button>
        </div>
      </header>
      {logoutError ? <div class="alert alert-error" role="alert">Logout failed: {logoutError}</div> : null}
      <main id="main" class="content">
        <Routes path={path} />
      </main>
    </>
  );
}
