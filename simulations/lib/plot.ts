// Plots: vega-lite specs compiled to vega and rendered to SVG on the server (no browser, no
// canvas), so a results directory holds pictures a person can open.
import * as vega from 'vega'
import { compile, type TopLevelSpec } from 'vega-lite'

export type PlotSpec = TopLevelSpec

export async function renderSvg (spec: PlotSpec): Promise<string> {
  const view = new vega.View(vega.parse(compile(spec).spec), { renderer: 'none' })
  try {
    return await view.toSVG()
  } finally {
    view.finalize()
  }
}

type Axis = { field: string, title: string }

/** The parts every chart shares: size, data, y and an optional colour series. */
function chart (title: string, values: Array<Record<string, unknown>>, mark: unknown, x: Record<string, unknown>, y: Axis, series?: Axis): PlotSpec {
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title,
    width: 480,
    height: 280,
    data: { values },
    mark,
    encoding: {
      x,
      y: { field: y.field, type: 'quantitative', title: y.title },
      ...(series !== undefined ? { color: { field: series.field, type: 'nominal', title: series.title } } : {})
    }
  } as PlotSpec
}

/** A line chart of y against x, one line per series (when given), points marked. */
export function lineChart (title: string, values: Array<Record<string, unknown>>, x: Axis & { log?: boolean }, y: Axis, series?: Axis): PlotSpec {
  return chart(title, values, { type: 'line', point: true }, { field: x.field, type: 'quantitative', title: x.title, ...(x.log === true ? { scale: { type: 'log', base: 2 } } : {}) }, y, series)
}

/** Bars of y for each category x (optionally stacked by a series). */
export function barChart (title: string, values: Array<Record<string, unknown>>, x: Axis & { type?: 'nominal' | 'ordinal' }, y: Axis, series?: Axis): PlotSpec {
  return chart(title, values, 'bar', { field: x.field, type: x.type ?? 'ordinal', title: x.title }, y, series)
}
