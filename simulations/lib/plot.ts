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

/** A line chart of y against x, one line per series (when given), points marked. */
export function lineChart (title: string, values: Array<Record<string, unknown>>, x: { field: string, title: string, log?: boolean }, y: { field: string, title: string }, series?: { field: string, title: string }): PlotSpec {
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title,
    width: 480,
    height: 280,
    data: { values },
    mark: { type: 'line', point: true },
    encoding: {
      x: { field: x.field, type: 'quantitative', title: x.title, ...(x.log === true ? { scale: { type: 'log', base: 2 } } : {}) },
      y: { field: y.field, type: 'quantitative', title: y.title },
      ...(series !== undefined ? { color: { field: series.field, type: 'nominal', title: series.title } } : {})
    }
  } as PlotSpec
}

/** Bars of y for each category x (optionally stacked by a series). */
export function barChart (title: string, values: Array<Record<string, unknown>>, x: { field: string, title: string, type?: 'nominal' | 'ordinal' }, y: { field: string, title: string }, series?: { field: string, title: string }): PlotSpec {
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title,
    width: 480,
    height: 280,
    data: { values },
    mark: 'bar',
    encoding: {
      x: { field: x.field, type: x.type ?? 'ordinal', title: x.title },
      y: { field: y.field, type: 'quantitative', title: y.title },
      ...(series !== undefined ? { color: { field: series.field, type: 'nominal', title: series.title } } : {})
    }
  } as PlotSpec
}
