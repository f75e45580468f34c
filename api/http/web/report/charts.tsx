/** The report's charts as inline SVG drawn on the server (no scripts, so they render under the CSP and print). */
import type { FC } from 'hono/jsx';
import type { ReportModel } from '../../../domain/exports/report.js';

const PALETTE = [
  '#1f77b4',
  '#ff7f0e',
  '#2ca02c',
  '#d62728',
  '#9467bd',
  '#8c564b',
  '#e377c2',
  '#7f7f7f',
  '#bcbd22',
  '#17becf',
];

const colour = (index: number) => PALETTE[index % PALETTE.length];
const px = (value: number) => value.toFixed(1);

/** Stacked bars: one bar per week, one colour per role. */
export const GrantsChart: FC<{ model: ReportModel['grantsPerRoleWeek'] }> = ({ model }) => {
  const { weeks, roles, counts } = model;
  if (weeks.length === 0) return <p class="empty">No grants were activated in this range.</p>;
  const width = 720;
  const height = 260;
  const left = 40;
  const bottom = 40;
  const top = 10;
  const plotHeight = height - bottom - top;
  const totals = weeks.map((week) => roles.reduce((sum, role) => sum + (counts[week]?.[role] ?? 0), 0));
  const max = Math.max(1, ...totals);
  const step = (width - left - 10) / weeks.length;
  const barWidth = Math.max(4, Math.min(48, step * 0.7));
  const ticks = [0, 1, 2, 3, 4].map((tick) => {
    const value = Math.round((max * tick) / 4);
    const y = top + plotHeight - (plotHeight * value) / max;
    return (
      <>
        <line x1={left} y1={px(y)} x2={width - 10} y2={px(y)} stroke="#ddd" stroke-width="1" />
        <text x={left - 6} y={px(y + 4)} font-size="11" text-anchor="end" fill="#444">
          {value}
        </text>
      </>
    );
  });
  const bars = weeks.map((week, index) => {
    const x = left + index * step + (step - barWidth) / 2;
    let y = top + plotHeight;
    const stack = roles.map((role, roleIndex) => {
      const count = counts[week]?.[role] ?? 0;
      if (count === 0) return null;
      const h = (plotHeight * count) / max;
      y -= h;
      return (
        <rect x={px(x)} y={px(y)} width={px(barWidth)} height={px(h)} fill={colour(roleIndex)}>
          <title>{`${role}, week of ${week}: ${count}`}</title>
        </rect>
      );
    });
    const labelled = weeks.length <= 16 || index % Math.ceil(weeks.length / 16) === 0;
    return (
      <>
        {stack}
        {labelled ? (
          <text
            x={px(x + barWidth / 2)}
            y={height - bottom + 16}
            font-size="10"
            text-anchor="middle"
            fill="#444"
          >
            {week.slice(5)}
          </text>
        ) : null}
      </>
    );
  });
  return (
    <>
      <svg class="chart" viewBox={`0 0 ${width} ${height}`} role="img" aria-label="Grants per role per week">
        {ticks}
        {bars}
        <text x={left} y={height - 6} font-size="11" fill="#444">
          week starting (MM-DD)
        </text>
      </svg>
      <ul class="legend">
        {roles.map((role, index) => (
          <li>
            <svg width="12" height="12" aria-hidden="true">
              <rect width="12" height="12" fill={colour(index)} />
            </svg>{' '}
            {role}
          </li>
        ))}
      </ul>
    </>
  );
};

/** Histogram of the time from request to approval. */
export const LatencyChart: FC<{ model: ReportModel['approvalLatency'] }> = ({ model }) => {
  if (model.samples === 0) return <p class="empty">No approvals in this range.</p>;
  const width = 720;
  const height = 220;
  const left = 40;
  const bottom = 34;
  const top = 16;
  const plotHeight = height - bottom - top;
  const max = Math.max(1, ...model.buckets.map((bucket) => bucket.count));
  const step = (width - left - 10) / model.buckets.length;
  return (
    <svg
      class="chart"
      viewBox={`0 0 ${width} ${height}`}
      role="img"
      aria-label="Approval latency distribution"
    >
      <line x1={left} y1={top + plotHeight} x2={width - 10} y2={top + plotHeight} stroke="#999" />
      {model.buckets.map((bucket, index) => {
        const h = (plotHeight * bucket.count) / max;
        const x = left + index * step + step * 0.1;
        const y = top + plotHeight - h;
        return (
          <>
            <rect x={px(x)} y={px(y)} width={px(step * 0.8)} height={px(h)} fill="#1f77b4">
              <title>{`${bucket.label}: ${bucket.count}`}</title>
            </rect>
            <text x={px(x + step * 0.4)} y={px(y - 3)} font-size="11" text-anchor="middle" fill="#222">
              {bucket.count}
            </text>
            <text
              x={px(x + step * 0.4)}
              y={height - bottom + 16}
              font-size="11"
              text-anchor="middle"
              fill="#444"
            >
              {bucket.label}
            </text>
          </>
        );
      })}
    </svg>
  );
};
