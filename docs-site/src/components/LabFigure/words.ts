// Measured values in a reader's words: the sentence a page's figure block gives a measurement, filled in
// with the value one PostgreSQL version measured.
import type { FigureMeasurement } from '@site/src/remark/lab-figures.mts';

// `value` as the reports' summary formats it ("20.5", "1,024"); `zero` and `one` read better than "0 writes".
export function sentence(measurement: FigureMeasurement, value: string): string {
  if (value === '0' && measurement.zero) return measurement.zero;
  if (value === '1' && measurement.one) return measurement.one;
  return measurement.says.replaceAll('{value}', value);
}
