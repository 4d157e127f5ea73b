// What each environment needs, from the reports' `docker stats` samples: per lab the peaks of the whole
// lab and of its core path (its sections not marked deep dives), and with --sections each section's.
//   npx tsx bench/resources.ts [--pg 18] [--reports-dir reports] [--sections]
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { pageSections } from '../harness/agenda/agenda.ts';
import { formatBytes, resourcesBySection } from '../harness/probes/resources.ts';
import { parseRunReport } from '../harness/report/model.ts';
import { repoRoot } from '../harness/paths.ts';

const { values } = parseArgs({ options: { pg: { type: 'string', default: '18' }, 'reports-dir': { type: 'string', default: 'reports' }, sections: { type: 'boolean', default: false } } });
const file = path.resolve(repoRoot, values['reports-dir'], `pg${values.pg}.json`);
if (!existsSync(file)) {
  console.error(`bench/resources: no report ${file}; run \`npx workshop verify <lab…> --pg ${values.pg} --reports-dir ${values['reports-dir']}\` first`);
  process.exit(2);
}
const report = parseRunReport(readFileSync(file, 'utf8'), file);
const cpu = (percent: number) => `${Math.round(percent)} % (${(percent / 100).toFixed(1)} cores)`;
console.log(`${file}: run ${report.runId}, PostgreSQL ${report.major}, host ${report.host.cpus} CPUs, ${report.host.memoryGiB} GiB`);
console.log(['environment', 'lab', 'peak memory', 'peak CPU', 'core path: memory', 'core path: CPU', 'samples', 'failed'].join(' | '));
for (const lab of report.labs.filter((l) => l.resources).sort((a, b) => (a.environment ?? '').localeCompare(b.environment ?? '') || a.id.localeCompare(b.id))) {
  const r = lab.resources!;
  const sections = resourcesBySection(lab, pageSections(readFileSync(path.join(repoRoot, lab.file), 'utf8'), path.join(repoRoot, lab.file)).sections);
  const core = sections.filter((s) => s.mark === 'core');
  const coreMemory = Math.max(0, ...core.map((s) => s.peakMemoryBytes));
  const coreCpu = Math.max(0, ...core.map((s) => s.peakCpuPercent));
  const coreText = sections.some((s) => s.mark === 'deep-dive') ? [formatBytes(coreMemory), cpu(coreCpu)] : ['(all core)', '(all core)'];
  console.log([lab.environment ?? '-', `${lab.id}${lab.fromRunId ? ` (run ${lab.fromRunId})` : ''}`, formatBytes(r.peakMemoryBytes), cpu(r.peakCpuPercent), ...coreText, String(r.samples), String(r.errors)].join(' | '));
  if (values.sections) {
    for (const s of sections) {
      const figures = s.samples === 0 ? 'no sample (it ran between two)' : `${formatBytes(s.peakMemoryBytes)}, ${cpu(s.peakCpuPercent)}, ${s.samples} samples`;
      console.log(`    ${s.mark === 'core' ? 'core     ' : 'deep dive'} ${s.title}: ${figures}`);
    }
  }
}
