// A series of a lab's report (throughput per second around a failover, …) drawn with Apache ECharts:
// one panel per PostgreSQL version on a shared time axis aligned at the first mark (the kill), with
// each mark (a kill, a new leader) as a labelled vertical line. Rendered as SVG in the browser only.
import { useEffect, useRef, type ReactNode } from 'react';
import { useColorMode } from '@docusaurus/theme-common';
import type { SeriesChart as Chart } from '@site/src/plugins/reports/summary.mts';
import styles from './styles.module.css';

// One colour per major, the same in every chart of the site; in each colour mode at least 4.5:1 against
// the page's surface (#ffffff, #242526), since a panel's name is written in it (readableOn() of
// src/site/contrast.mts gave the dark ones and the darker 17 and 18).
const MAJOR_COLOURS: Record<'light' | 'dark', Record<number, string>> = {
  light: { 15: '#3b6fb6', 16: '#8a5cc2', 17: '#27835a', 18: '#b85319' },
  dark: { 15: '#6c93c8', 16: '#a17dce', 17: '#389f71', 18: '#ce7948' },
};
const FALLBACK_COLOUR = { light: '#6b7280', dark: '#9ca3af' };
const PANEL_HEIGHT = 130;
const PANEL_GAP = 46;
const TOP = 36;
const BOTTOM = 44;

export function chartHeight(chart: Chart): number {
  return TOP + BOTTOM + chart.lines.length * PANEL_HEIGHT + (chart.lines.length - 1) * PANEL_GAP;
}

function chartOption(chart: Chart, dark: boolean) {
  const text = dark ? '#d6d9de' : '#3a3f47';
  const colourOf = (major: number) => MAJOR_COLOURS[dark ? 'dark' : 'light'][major] ?? FALLBACK_COLOUR[dark ? 'dark' : 'light'];
  const grid = dark ? '#3a3f47' : '#e5e7eb';
  const xs = chart.lines.flatMap((line) => [...line.points.map(([x]) => x), ...line.marks.map((mark) => mark.at)]);
  // Whole 5-second ticks at both ends.
  const [xMin, xMax] = [Math.floor(Math.min(...xs) / 5) * 5, Math.ceil(Math.max(...xs) / 5) * 5];
  const yMax = Math.max(...chart.lines.flatMap((line) => line.points.map(([, y]) => y)));
  return {
    animation: false,
    aria: { enabled: true, label: { description: `${chart.label} (${chart.unit}), per PostgreSQL version` } },
    textStyle: { color: text, fontFamily: 'inherit' },
    tooltip: { trigger: 'axis', valueFormatter: (value: number) => `${value} ${chart.unit}` },
    axisPointer: { link: [{ xAxisIndex: 'all' }] },
    grid: chart.lines.map((_, index) => ({
      left: 64, right: 24, top: TOP + index * (PANEL_HEIGHT + PANEL_GAP), height: PANEL_HEIGHT,
    })),
    xAxis: chart.lines.map((_, index) => ({
      type: 'value', gridIndex: index, min: xMin, max: xMax,
      name: index === chart.lines.length - 1 ? chart.xLabel : undefined, nameLocation: 'middle', nameGap: 28,
      axisLabel: { color: text, formatter: (value: number) => `${value} s` },
      axisLine: { onZero: false, lineStyle: { color: grid } },
      splitLine: { show: false },
    })),
    yAxis: chart.lines.map((line, index) => ({
      type: 'value', gridIndex: index, min: 0, max: yMax > 0 ? undefined : 1, splitNumber: 3,
      name: `${line.label} · ${chart.unit}`, nameLocation: 'end', nameGap: 12,
      nameTextStyle: { color: colourOf(line.major), fontWeight: 600, align: 'left' },
      axisLine: { onZero: false },
      axisLabel: { color: text },
      splitLine: { lineStyle: { color: grid } },
    })),
    series: chart.lines.map((line, index) => {
      const colour = colourOf(line.major);
      return {
        name: line.label,
        type: 'line',
        xAxisIndex: index,
        yAxisIndex: index,
        data: line.points,
        showSymbol: false,
        step: 'end',
        lineStyle: { color: colour, width: 2 },
        itemStyle: { color: colour },
        areaStyle: { color: colour, opacity: 0.08 },
        markLine: {
          silent: true,
          symbol: 'none',
          lineStyle: { color: text, type: 'dashed', width: 1 },
          // Labels sit inside the panel's top, to the right of their line, one row lower per mark so they never overlap.
          data: line.marks.map((mark, order) => ({
            xAxis: mark.at,
            label: {
              formatter: `${mark.label} (${mark.at.toFixed(1)} s)`,
              position: 'insideEndTop', rotate: 0, align: 'left', color: text, fontSize: 11,
              offset: [4, 4 + order * 15],
              backgroundColor: dark ? 'rgba(27,27,29,0.8)' : 'rgba(255,255,255,0.85)', padding: [1, 3],
            },
          })),
        },
      };
    }),
  };
}

// Captioned with the series' label and unit in words (labs/<lab>.labels.yaml); its name stays in data-series.
export default function SeriesChart({ chart }: { chart: Chart }): ReactNode {
  const container = useRef<HTMLDivElement>(null);
  const { colorMode } = useColorMode();
  useEffect(() => {
    let disposed = false;
    let instance: { dispose(): void; resize(): void } | undefined;
    let observer: ResizeObserver | undefined;
    // ECharts reads the DOM, so it is loaded on the client only, as its own chunk, with just what is drawn here.
    void Promise.all([
      import('echarts/core'), import('echarts/charts'), import('echarts/components'), import('echarts/renderers'),
    ]).then(([core, charts, components, renderers]) => {
      if (disposed || !container.current) return;
      core.use([charts.LineChart, components.GridComponent, components.TooltipComponent, components.MarkLineComponent,
        components.AriaComponent, components.AxisPointerComponent, renderers.SVGRenderer]);
      const echart = core.init(container.current, undefined, { renderer: 'svg' });
      echart.setOption(chartOption(chart, colorMode === 'dark'));
      instance = echart;
      observer = new ResizeObserver(() => echart.resize());
      observer.observe(container.current);
    });
    return () => {
      disposed = true;
      observer?.disconnect();
      instance?.dispose();
    };
  }, [chart, colorMode]);
  return (
    <figure className={styles.figure}>
      <figcaption className={styles.caption}>
        {chart.label} ({chart.unit}), per PostgreSQL version
      </figcaption>
      <div ref={container} className={styles.chart} data-series={chart.name} style={{ height: chartHeight(chart) }} role="img" aria-label={`${chart.label} (${chart.unit}), per PostgreSQL version`} />
    </figure>
  );
}
