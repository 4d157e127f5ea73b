// The public surface for lab specs.
export { useLab, openLab, Lab, StepFailedError } from './spec/lab.ts';
export { budget, Deadline, pollUntil, WaitTimeoutError } from './spec/wait.ts';
export { matchOutput } from './expect/match.ts';
export type { Measurement, Series, LabReport, RunReport } from './report/model.ts';
export type { NodeAddress } from './postgres/postgres.ts';
export { connect, publishedAddress, queryValue, pollQueryUntil, waitForReplay, checkpointCounters } from './postgres/postgres.ts';
export type { CheckpointCounters } from './postgres/postgres.ts';
export { versionFacts, knownMajors } from './lab/majors.ts';
export type { VersionFacts } from './lab/majors.ts';
export { Writer, prepareWrites, checkLedger, readWriterLedger, checkWriterLedger, parseWriterVerdict, verdictDiffers, keepLedger, gapAcross, writesPerSecond, onPrimary, startWriter, stopWriterAfter, WRITES_TABLE } from './probes/writer.ts';
export type { WriterResult, LedgerCheck, AcknowledgedWrite, WritableNode } from './probes/writer.ts';
export { parsePgbenchLoad, tpsSeries, printedFigure } from './probes/pgbench.ts';
export { startSampler, sampleWhile } from './probes/sampler.ts';
export type { Sampler } from './probes/sampler.ts';
export type { PgbenchLoad, PgbenchSample } from './probes/pgbench.ts';
export { PatroniCluster, patroniDialect, leaderOf } from './patroni/patroni.ts';
export type { ClusterMember, ClusterState } from './patroni/patroni.ts';
export { PrimaryConnector, NoPrimaryError } from './patroni/primary.ts';
