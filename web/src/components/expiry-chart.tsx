/**
 * When certificates expire over the next 90 days, drawn as an SVG bar per day (no chart library).
 * The colour follows urgency (under 7 days, under 30, later); each bar names its certificates in
 * a tooltip, and the figure carries a text summary for screen readers.
 */
import { day, urgency } from '../time-format';

/** One certificate on the chart. */
export interface ExpiryPoint {
  id: string;
  name: string;
  notAfter: string;
}

const DAYS = 90;
const W = 900;
const H = 170;
const M = { top: 12, right: 12, bottom: 28, left: 30 };
const DAY_MS = 86_400_000;

/** The chart. `now` is injectable for a stable picture. */
export function ExpiryChart({ points, now = Date.now() }: { points: ExpiryPoint[]; now?: number }) {
  const start = now;
  const buckets: ExpiryPoint[][] = Array.from({ length: DAYS }, () => []);
  for (const p of points) {
    const d = Math.floor((Date.parse(p.notAfter) - start) / DAY_MS);
    if (d >= 0 && d < DAYS) buckets[d]!.push(p);
  }
  const inRange = buckets.reduce((n, b) => n + b.length, 0);
  const week = buckets.slice(0, 7).reduce((n, b) => n + b.length, 0);
  const month = buckets.slice(0, 30).reduce((n, b) => n + b.length, 0);
  const max = Math.max(1, ...buckets.map((b) => b.length));
  const plotW = W - M.left - M.right;
  const plotH = H - M.top - M.bottom;
  const bw = plotW / DAYS;
  const x = (d: number) => M.left + d * bw;
  const y = (n: number) => M.top + plotH - (n / max) * plotH;
  const summary = inRange === 0
    ? 'No certificate expires in the next 90 days.'
    : `${inRange} certificate${inRange === 1 ? '' : 's'} expire${inRange === 1 ? 's' : ''} in the next 90 days: ${week} within 7 days, ${month} within 30 days.`;

  return (
    <figure class="chart">
      <svg viewBox={`0 0 ${W} ${H}`} role="img" aria-labelledby="expiry-chart-title expiry-chart-desc" preserveAspectRatio="xMidYMid meet">
        <title id="expiry-chart-title">Expiries in the next 90 days</title>
        <desc id="expiry-chart-desc">{summary}</desc>
        <rect class="chart-zone chart-zone-critical" x={x(0)} y={M.top} width={7 * bw} height={plotH} />
        <rect class="chart-zone chart-zone-warning" x={x(7)} y={M.top} width={23 * bw} height={plotH} />
        <line class="chart-axis" x1={M.left} y1={M.top + plotH} x2={W - M.right} y2={M.top + plotH} />
        <line class="chart-axis" x1={M.left} y1={M.top} x2={M.left} y2={M.top + plotH} />
        <text class="chart-label" x={M.left - 6} y={M.top + 4} text-anchor="end">{max}</text>
        <text class="chart-label" x={M.left - 6} y={M.top + plotH} text-anchor="end">0</text>
        {[0, 15, 30, 45, 60, 75, 90].map((d) => (
          <g key={d}>
            <line class="chart-tick" x1={x(d)} y1={M.top + plotH} x2={x(d)} y2={M.top + plotH + 4} />
            <text class={d % 30 === 0 ? 'chart-label' : 'chart-label chart-label-minor'} x={x(d)} y={H - 8} text-anchor={d === 0 ? 'start' : d === 90 ? 'end' : 'middle'}>
              {d === 0 ? 'today' : `${day(new Date(start + d * DAY_MS).toISOString()).slice(5)} (+${d}d)`}
            </text>
          </g>
        ))}
        {buckets.map((b, d) => {
          if (!b.length) return null;
          const when = new Date(start + d * DAY_MS).toISOString();
          const first = b[0]!;
          return (
            <rect key={d} class={`chart-bar urgency-${urgency(first.notAfter, now)}`} x={x(d) + 0.5} y={y(b.length)} width={Math.max(1, bw - 1)} height={M.top + plotH - y(b.length)}>
              <title>{`${day(when)}: ${b.length} expire${b.length === 1 ? 's' : ''} — ${b.slice(0, 5).map((p) => p.name).join(', ')}${b.length > 5 ? ', …' : ''}`}</title>
            </rect>
          );
        })}
      </svg>
      <figcaption class="muted">{summary} Shaded: under 7 days and under 30 days.</figcaption>
    </figure>
  );
}
