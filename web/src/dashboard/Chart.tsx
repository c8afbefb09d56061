// An ECharts chart: a div with role="img" whose aria-label summarises the data (ECharts' aria
// writes the same description on it), patterned (decal) for readers who cannot tell the colours
// apart. Initialised on mount, given the option on change, resized with its box, disposed on
// unmount.
// only the parts of ECharts the panels use (its full build triples the dashboard's size)
import { BarChart, CustomChart, HeatmapChart, LineChart } from "echarts/charts";
import {
  AriaComponent,
  DataZoomComponent,
  GridComponent,
  LegendComponent,
  MarkLineComponent,
  TitleComponent,
  TooltipComponent,
  VisualMapComponent,
} from "echarts/components";
import * as echarts from "echarts/core";
import { SVGRenderer } from "echarts/renderers";
import type { CustomSeriesOption, CustomSeriesRenderItem, EChartsOption } from "echarts";

echarts.use([
  BarChart,
  CustomChart,
  HeatmapChart,
  LineChart,
  AriaComponent,
  DataZoomComponent,
  GridComponent,
  LegendComponent,
  MarkLineComponent,
  TitleComponent,
  TooltipComponent,
  VisualMapComponent,
  SVGRenderer,
]);
import { useEffect, useRef } from "react";
import { ink, palette } from "./palette";

export type ChartOption = EChartsOption;

export function Chart({ option, label, height }: { option: ChartOption; label: string; height?: string }) {
  const box = useRef<HTMLDivElement>(null);
  const chart = useRef<echarts.EChartsType | null>(null);

  useEffect(() => {
    const element = box.current;
    if (!element) return;
    let instance: echarts.EChartsType;
    try {
      instance = echarts.init(element, null, { renderer: "svg" });
    } catch {
      return; // no drawing surface (e.g. a test DOM): the label and the tables carry the data
    }
    chart.current = instance;
    const observer = typeof ResizeObserver === "function" ? new ResizeObserver(() => instance.resize()) : null;
    observer?.observe(element);
    return () => {
      observer?.disconnect();
      instance.dispose();
      chart.current = null;
    };
  }, []);

  useEffect(() => {
    chart.current?.setOption(
      {
        color: palette(),
        animation: !prefersReducedMotion(),
        textStyle: { fontFamily: "system-ui, sans-serif", color: ink() },
        aria: { enabled: true, label: { enabled: true, description: label }, decal: { show: true } },
        ...option,
      },
      { notMerge: true },
    );
  }, [option, label]);

  return <div ref={box} className="chart" role="img" aria-label={label} style={height ? { height } : undefined} />;
}

/** The most categories a bar chart shows at once; more scroll (the tables list every one). */
export const VISIBLE_CATEGORIES = 12;

/** A category chart's height: 10rem for a few bars, growing to at most 18rem. */
export function categoryHeight(categories: number, minimum = 10): string {
  const rows = Math.min(categories, VISIBLE_CATEGORIES);
  return `${Math.min(18, Math.max(minimum, 4 + rows * 1.2))}rem`;
}

/**
 * When a chart has more categories than fit, a scrollbar on the category axis (the first
 * VISIBLE_CATEGORIES shown; the mouse wheel scrolls); otherwise nothing.
 */
export function categoryZoom(categories: number, axis: "x" | "y" = "y"): Pick<ChartOption, "dataZoom"> {
  if (categories <= VISIBLE_CATEGORIES) return {};
  const index = axis === "y" ? { yAxisIndex: 0 } : { xAxisIndex: 0 };
  return {
    dataZoom: [
      {
        type: "slider",
        ...index,
        startValue: 0,
        endValue: VISIBLE_CATEGORIES - 1,
        showDetail: false,
        brushSelect: false,
        ...(axis === "y" ? { right: 4, width: 12 } : { bottom: 4, height: 12 }),
      },
      { type: "inside", ...index, zoomOnMouseWheel: false, moveOnMouseWheel: true, moveOnMouseMove: false },
    ],
  };
}

function prefersReducedMotion(): boolean {
  return typeof matchMedia === "function" && matchMedia("(prefers-reduced-motion: reduce)").matches;
}

/**
 * Whiskers for 95 % intervals, as a custom series over `[category or x, low, high]` rows;
 * `horizontal`: the categories are on the y axis and the values on the x axis.
 */
export function intervalSeries(
  name: string,
  rows: readonly (readonly [number | string, number, number])[],
  horizontal = false,
): CustomSeriesOption {
  const renderItem: CustomSeriesRenderItem = (_params, api) => {
    const at = api.value(0);
    const low = api.value(1);
    const high = api.value(2);
    const a = horizontal ? api.coord([low, at]) : api.coord([at, low]);
    const b = horizontal ? api.coord([high, at]) : api.coord([at, high]);
    const cap = 5;
    const style = { stroke: ink(), lineWidth: 1.5 };
    const capAt = (p: number[]) =>
      horizontal
        ? { x1: p[0], y1: p[1] - cap, x2: p[0], y2: p[1] + cap }
        : { x1: p[0] - cap, y1: p[1], x2: p[0] + cap, y2: p[1] };
    return {
      type: "group",
      children: [
        { type: "line", shape: { x1: a[0], y1: a[1], x2: b[0], y2: b[1] }, style },
        { type: "line", shape: capAt(a), style },
        { type: "line", shape: capAt(b), style },
      ],
    };
  };
  return {
    type: "custom",
    name,
    renderItem,
    data: rows.map((r) => [...r]),
    encode: horizontal ? { y: 0, x: [1, 2] } : { x: 0, y: [1, 2] },
    z: 10,
    tooltip: { show: false },
  };
}
