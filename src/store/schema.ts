/**
 * Database schema, as Kysely sees it. One definition for SQLite and PostgreSQL: timestamps are
 * ISO-8601 UTC strings with millisecond precision (fixed width, so they sort and compare as text
 * on both back ends), booleans are 0/1 integers, structured values are JSON text, and every secret
 * is a key-vault envelope (see key-vault.ts), never plaintext.
 */
import type { Generated } from 'kysely';

/** Columns every tenant-owned, user-visible resource carries. */
interface Audited {
  tenant_id: string;
  created_at: string;
  created_by: string;
  updated_at: string;
  updated_by: string;
}

export interface ProvidersTable extends Audited {
  id: string;
  name: string;
  email: string | null;
  server: string;
  eab_key_id: string | null;
  /** Envelope of the EAB HMAC key (write-only through the API). */
  eab_secret_enc: string | null;
  ca_certificates: string | null;
  profile: string | null;
  preferred_chain: string | null;
  /** Envelope of the ACME account key, PKCS#8 PEM. */
  account_key_enc: string;
  account_url: string | null;
  terms_of_service: string | null;
  profiles_json: string | null;
  state: string;
  message: string;
}

export interface AutoCertificatesTable extends Audited {
  id: string;
  name: string;
  provider_id: string;
  fallback_provider_ids: string;
  common_name: string;
  /** JSON array of every name, common name first, normalised (punycode, lower case). */
  names_json: string;
  key_algorithm: string;
  challenge_type: string;
  key_policy: string;
  renew_before_days: number | null;
  profile: string | null;
  state: string;
  message: string;
  last_issued_certificate_id: string | null;
  next_renewal_at: string | null;
  renewal_reason: string | null;
  last_attempt_at: string | null;
  next_attempt_at: string | null;
  failure_count: number;
  ari_window_start: string | null;
  ari_window_end: string | null;
  ari_next_check_at: string | null;
  ari_explanation_url: string | null;
  /** The provider the current attempts use (a fallback after fail-over), or null for the primary. */
  current_provider_id: string | null;
  /** When set, the key is generated on this agent and never leaves it (migration 0009). */
  key_agent_id?: string | null;
}

export interface CertificatesTable extends Audited {
  id: string;
  name: string;
  auto_certificate_id: string | null;
  provider_id: string | null;
  source: string;
  state: string;
  message: string;
  common_name: string | null;
  sans_json: string;
  issuer: string;
  serial_number: string;
  not_before: string;
  not_after: string;
  fingerprint_sha256: string;
  key_algorithm: string | null;
  certificate_pem: string;
  chain_pem: string;
  /** Envelope of the private key, PKCS#8 PEM. */
  private_key_enc: string;
  delete_after: string | null;
  revoked_at: string | null;
  revocation_reason: string | null;
  /** Set when an agent holds the key under this id; `private_key_enc` is then empty. */
  agent_key_id?: string | null;
}

/** One ACME order of an issuance, persisted step by step so a restart resumes it. */
export interface OrdersTable {
  id: string;
  tenant_id: string;
  auto_certificate_id: string;
  provider_id: string;
  names_json: string;
  key_algorithm: string;
  rekey: number;
  step: string;
  order_url: string | null;
  finalize_url: string | null;
  authorizations_json: string;
  /** Envelope of the certificate key, written before finalize so a resumed order uses the same key. */
  key_enc: string | null;
  certificate_url: string | null;
  certificate_id: string | null;
  error: string | null;
  created_at: string;
  updated_at: string;
  finished_at: string | null;
  /** SHA-256 of the sorted name list: the rate budget counts orders per exact name set. */
  names_hash: string | null;
  /** ARI certificate ID of the version this order replaces (RFC 9773 §5). */
  replaces: string | null;
  /** Keys generated on an agent: the agent's key id and the CSR it answered. */
  agent_key_id?: string | null;
  csr_pem?: string | null;
}

/** http-01 key authorizations of orders in flight: any instance's responder answers them. */
export interface Http01TokensTable {
  token: string;
  key_authorization: string;
  order_id: string;
  identifier: string;
  expires_at: string;
  /** The agent that serves this token (names mapped to an agent), and when it said it does. */
  agent_id?: string | null;
  agent_ack_at?: string | null;
}

export interface JobsTable {
  id: string;
  tenant_id: string;
  kind: string;
  subject_id: string;
  /** Non-null while the job is queued or running: a unique index keeps one active job per key. */
  active_key: string | null;
  state: string;
  payload_json: string;
  run_at: string;
  lease_owner: string | null;
  lease_expires_at: string | null;
  attempts: number;
  last_error: string | null;
  created_at: string;
  updated_at: string;
}

export interface EventsTable {
  id: Generated<number>;
  tenant_id: string;
  type: string;
  subject_type: string;
  subject_id: string | null;
  actor: string;
  message: string;
  data_json: string;
  created_at: string;
  /** The client address of the request that caused it; null for the service's own work. */
  source: string | null;
}

export interface ApiTokensTable {
  id: string;
  tenant_id: string;
  name: string;
  role: string;
  token_hash: string;
  created_at: string;
  expires_at: string | null;
  last_used_at: string | null;
  /** JSON of a consumer token's scope (`TokenScope`), null for a role token. */
  scope_json: string | null;
  created_by: string;
}

export interface TenantsTable {
  id: string;
  name: string;
  created_at: string;
  created_by: string;
}

export interface UsersTable {
  id: string;
  tenant_id: string;
  email: string;
  role: string;
  /** scrypt hash (`scrypt$N$r$p$salt$hash`), null until the user accepts the invitation. */
  password_hash: string | null;
  /** SHA-256 of the one-time invitation token, null once used. */
  invitation_hash: string | null;
  invitation_expires_at: string | null;
  failed_logins: number;
  locked_until: string | null;
  last_login_at: string | null;
  created_at: string;
  created_by: string;
  updated_at: string;
  updated_by: string;
}

export interface SessionsTable {
  id: string;
  token_hash: string;
  tenant_id: string;
  user_id: string;
  csrf_token: string;
  address: string;
  user_agent: string;
  created_at: string;
  last_seen_at: string;
  expires_at: string;
}

export interface DnsZonesTable extends Audited {
  id: string;
  zone_name: string;
  provider: string;
  settings_json: string;
  /** Envelope of the credentials object (JSON), or null when the provider needs none. */
  credentials_enc: string | null;
  enabled: number;
  resolvers_json: string;
  propagation_timeout_seconds: number;
  extra_delay_seconds: number;
  state: string;
  message: string;
  last_check_at: string | null;
}

export interface ChallengesTable {
  id: string;
  order_id: string;
  tenant_id: string;
  identifier: string;
  type: string;
  manual: number;
  authorization_url: string;
  challenge_url: string;
  token: string;
  key_authorization: string;
  /** dns-01: `_acme-challenge.<name>`. */
  record_name: string | null;
  /** dns-01: where the record is written after following CNAMEs. */
  target_name: string | null;
  record_value: string | null;
  zone_id: string | null;
  /** pending → presented → answered → valid | invalid; cleaned after removal. */
  status: string;
  error: string | null;
  created_at: string;
  updated_at: string;
}

/** A notification channel: e-mail over SMTP or a webhook (generic signed JSON or a chat preset). */
export interface NotificationChannelsTable extends Audited {
  id: string;
  name: string;
  /** `email` or `webhook`. */
  type: string;
  /** JSON array of event types and `<prefix>.*` / `*` patterns. */
  events_json: string;
  enabled: number;
  /** JSON of the non-secret settings; a webhook URL appears here only in its redacted form. */
  settings_json: string;
  /** Envelope of the credentials object (JSON), including a webhook's full URL. */
  credentials_enc: string | null;
  /** Events with an id at or below this one predate the channel and are not delivered to it. */
  start_event_id: number;
  state: string;
  message: string;
  last_delivery_at: string | null;
  /** Hour (0–23, UTC) of the channel's daily digest; null when it takes none. */
  digest_hour: number | null;
  /** Last UTC day (YYYY-MM-DD) whose digest was queued or skipped; advanced by compare-and-set. */
  digest_day: string | null;
}

/** One event to deliver to one channel, with its retry state. Unique per (channel, event). */
export interface NotificationDeliveriesTable {
  id: string;
  tenant_id: string;
  channel_id: string;
  event_id: number;
  event_type: string;
  /** pending → sending → delivered | failed | cancelled (pending again between retries). */
  state: string;
  attempts: number;
  next_attempt_at: string;
  lease_owner: string | null;
  lease_expires_at: string | null;
  last_error: string | null;
  /** HTTP status or SMTP reply code of the last attempt, when there was one. */
  last_status: number | null;
  created_at: string;
  updated_at: string;
  delivered_at: string | null;
}

/** How far the notification dispatcher has read the event log (one row, shared by every instance). */
export interface NotificationCursorTable {
  id: string;
  last_event_id: number;
  updated_at: string;
}

/** Expiry thresholds already handled per certificate version: the unique key makes each alert once. */
export interface ExpiryAlertsTable {
  certificate_id: string;
  threshold_days: number;
  tenant_id: string;
  not_after: string;
  /** 1 when this threshold raised the event, 0 when a more urgent one crossed at the same time did. */
  sent: number;
  created_at: string;
}

/** The registered domains (eTLD+1) of each order: the local budget per registered domain counts these. */
export interface OrderDomainsTable {
  order_id: string;
  registered_domain: string;
  /** The order's created_at, so the week's rows of one domain are one index range. */
  created_at: string;
}

/** The whole database. */
export interface AgentsTable {
  id: string;
  tenant_id: string;
  name: string;
  description: string | null;
  enrolment_hash: string | null;
  enrolment_expires_at: string | null;
  credential_hash: string | null;
  enrolled_at: string | null;
  revoked_at: string | null;
  hostname: string | null;
  version: string | null;
  platform: string | null;
  http01_mode: string | null;
  http01_names_json: string;
  last_seen_at: string | null;
  created_at: string;
  created_by: string;
  updated_at: string;
  updated_by: string;
}

export interface DeploymentTargetsTable extends Audited {
  id: string;
  name: string;
  type: string;
  agent_id: string | null;
  settings_json: string;
  credentials_enc: string | null;
  enabled: number;
}

export interface AutoCertificateTargetsTable {
  auto_certificate_id: string;
  target_id: string;
  position: number;
}

export interface DeploymentsTable extends Audited {
  id: string;
  target_id: string;
  certificate_id: string;
  auto_certificate_id: string | null;
  state: string;
  message: string;
  output: string | null;
  served_serial: string | null;
  attempts: number;
  next_attempt_at: string | null;
  lease_owner: string | null;
  lease_expires_at: string | null;
  deployed_at: string | null;
}

export interface Database {
  agents: AgentsTable;
  deployment_targets: DeploymentTargetsTable;
  auto_certificate_targets: AutoCertificateTargetsTable;
  deployments: DeploymentsTable;
  providers: ProvidersTable;
  auto_certificates: AutoCertificatesTable;
  certificates: CertificatesTable;
  orders: OrdersTable;
  http01_tokens: Http01TokensTable;
  jobs: JobsTable;
  events: EventsTable;
  api_tokens: ApiTokensTable;
  dns_zones: DnsZonesTable;
  challenges: ChallengesTable;
  notification_channels: NotificationChannelsTable;
  notification_deliveries: NotificationDeliveriesTable;
  notification_cursor: NotificationCursorTable;
  expiry_alerts: ExpiryAlertsTable;
  order_domains: OrderDomainsTable;
  tenants: TenantsTable;
  users: UsersTable;
  sessions: SessionsTable;
}
