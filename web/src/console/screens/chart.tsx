/**
 * A per-day chart of the statistics screen, drawn by uPlot (canvas; small, no dependencies). uPlot and its
 * stylesheet are imported dynamically, so they are a chunk of their own that only the statistics screen loads: the
 * console's first load does not carry them, and the widget never imports this file. The chart is an image with a
 * name (`role="img"`) that points at the per-day table, which carries the same figures for everyone; if uPlot cannot
 * draw (no canvas, the chunk failed to load), the chart says so and the table still stands.
 */
import type { JSX } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import type uPlot from 'uplot';
import { alignedData, chartValue, yIncrs, yRange, type DayChart } from '../lib/stats';
import { useConsole } from '../state';

type UPlot = typeof uPlot;

let loading: Promise<UPlot> | null = null;

/** uPlot's class, loaded once (with its stylesheet) the first time a chart is drawn. */
export function loadUPlot(): Promise<UPlot> {
  if (!loading) {
    loading = Promise.all([import('uplot'), import('uplot/dist/uPlot.min.css')]).then(([m]) => m.default);
    // A failed load may be retried by the next chart.
    loading.catch(() => {
      loading = null;
    });
  }
  return loading;
}

/** Series colours (WCAG AA against the white card): the console's accent, then a dark orange. */
const COLORS = ['#0b5cad', '#b45309'];
const FILLS = ['rgba(11, 92, 173, 0.55)', 'rgba(180, 83, 9, 0.55)'];
const HEIGHT = 200;

/** uPlot's options for `chart`, `width` pixels wide; `label` names a series from its dictionary key. */
export function chartOptions(U: UPlot, chart: DayChart, width: number, label: (key: DayChart['series'][number]['label']) => string, dayLabel: string): uPlot.Options {
  const { days, unit } = chart;
  const bars = U.paths.bars?.({ size: [0.6, 48] });
  return {
    width,
    height: HEIGHT,
    series: [
      { label: dayLabel, value: (_u, v) => (v == null ? '–' : (days[v] ?? '')) },
      ...chart.series.map((s, i) => ({
        label: label(s.label),
        stroke: COLORS[i % COLORS.length],
        width: s.style === 'bars' ? 1 : 2,
        ...(s.style === 'bars' ? { fill: FILLS[i % FILLS.length], paths: bars, points: { show: false } } : { points: { show: true, size: 6 } }),
        value: (_u: uPlot, v: number | null) => chartValue(unit, v),
      })),
    ],
    scales: {
      x: { time: false, range: () => [-0.5, Math.max(0, days.length - 1) + 0.5] },
      y: { range: (_u, _min, max) => yRange(unit, max) },
    },
    axes: [
      {
        incrs: [1, 2, 3, 7, 14, 28, 56, 91, 182, 364],
        // Whole days only; `MM-DD` keeps the ticks short (the legend and the table give the full day).
        values: (_u, splits) => splits.map((v) => (Number.isInteger(v) ? (days[v]?.slice(5) ?? '') : '')),
        stroke: '#4a5365',
        grid: { show: false },
      },
      {
        incrs: yIncrs(unit),
        values: (_u, splits) => splits.map((v) => chartValue(unit, v)),
        size: unit === 'seconds' ? 84 : 50,
        stroke: '#4a5365',
        grid: { stroke: '#e4e8ee' },
      },
    ],
    cursor: { drag: { x: false, y: false } },
  };
}

/** One chart: its caption, then the canvas (or a note that it could not be drawn). */
export function DayChartView(props: { chart: DayChart; testId: string; tableId: string }): JSX.Element {
  const { t } = useConsole();
  const box = useRef<HTMLDivElement>(null);
  const [failed, setFailed] = useState(false);
  const { chart } = props;
  const title = t(chart.title);
  useEffect(() => {
    let gone = false;
    let plot: uPlot | null = null;
    let observer: ResizeObserver | null = null;
    setFailed(false);
    loadUPlot()
      .then((U) => {
        const el = box.current;
        if (gone || !el) return;
        const width = () => Math.max(200, el.clientWidth || 520);
        plot = new U(chartOptions(U, chart, width(), (k) => t(k), t('stats.day')), alignedData(chart), el);
        if (typeof ResizeObserver !== 'undefined') {
          observer = new ResizeObserver(() => plot?.setSize({ width: width(), height: HEIGHT }));
          observer.observe(el);
        }
      })
      .catch(() => {
        if (!gone) setFailed(true);
      });
    return () => {
      gone = true;
      observer?.disconnect();
      plot?.destroy();
    };
  }, [chart, t]);
  return (
    <figure class="chart" data-testid={props.testId}>
      <figcaption>{title}</figcaption>
      {failed && <p class="hint">{t('stats.chartFailed')}</p>}
      <div ref={box} class="chart-plot" hidden={failed} role="img" aria-label={t('stats.chartAlt', { title })} aria-describedby={props.tableId} />
    </figure>
  );
}
