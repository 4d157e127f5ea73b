// The lab table of run reports as Markdown: a CI job appends it to its run's summary page.
import type { RunReport } from './model.ts';

const STATUS = { passed: '✅ passed', failed: '❌ failed', 'not-applicable': '➖ not applicable' } as const;

// One row per lab and major: status, steps passed, time, measurements; failed labs list their first errors.
export function markdownSummary(reports: RunReport[]): string {
  if (reports.length === 0) return '**No run report was written** (the run ended before its first report).\n';
  const rows = reports.flatMap((report) => report.labs.map((lab) => {
    const passed = lab.steps.filter((step) => step.outcome === 'passed').length;
    const measurements = lab.measurements.map((m) => `${m.name} ${m.value} ${m.unit}`).join('<br>');
    const notes = lab.status === 'failed' ? [...lab.errors.slice(0, 2), ...(lab.stepsNotRun.length ? [`not run: ${lab.stepsNotRun.join(', ')}`] : [])] : [];
    return [`PostgreSQL ${report.versions.postgres ?? report.major}`, lab.corePath ? `${lab.id} (core path only)` : lab.id, STATUS[lab.status], `${passed}/${lab.steps.length}`,
      `${(lab.durationMs / 1000).toFixed(1)} s`, measurements, notes.join('<br>')].map(cell);
  }));
  const labs = reports.flatMap((r) => r.labs);
  const count = (status: string) => labs.filter((lab) => lab.status === status).length;
  return [
    `### Labs: ${count('passed')} passed, ${count('failed')} failed`,
    '',
    '| PostgreSQL | lab | status | steps passed | time | measurements | why it failed |',
    '|---|---|---|---|---|---|---|',
    ...rows.map((row) => `| ${row.join(' | ')} |`),
    '',
  ].join('\n');
}

// Table cells hold one line: pipes escaped, newlines folded, long errors cut.
function cell(text: string): string {
  const line = text.replaceAll('|', '\\|').replace(/\r?\n/g, ' ');
  return line.length > 300 ? `${line.slice(0, 297)}...` : line;
}
