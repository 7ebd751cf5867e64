// What a scenario is and what it hands back to the runner.
import type { PlotSpec } from './plot.js'
import type { Progress } from './progress.js'
import type { Rng } from './rng.js'

export interface ScenarioContext {
  /** Nodes to run (already checked against the scenario's range). */
  nodes: number
  seed: number
  quick: boolean
  rng: Rng
  progress: Progress
  /** Aborted on SIGINT/SIGTERM or the scenario's time limit: stop starting work. */
  signal: AbortSignal
  /** A scratch directory for repos and files, removed afterwards. */
  dir: string
  /** Registers clean-up (stop nodes, kill processes, delete namespaces); run in reverse, also on failure. */
  defer: (fn: () => Promise<void> | void) => void
}

export interface Target { name: string, ok: boolean, detail: string }

export interface ScenarioResult {
  /** The headline figures: what summary.md leads with and tests check. */
  headline: Record<string, number | string | boolean>
  /** Everything measured, for results.json. */
  data: Record<string, unknown>
  targets: Target[]
  plots: Array<{ name: string, title: string, spec: PlotSpec }>
  /** Extra lines of Markdown for summary.md (method, caveats). */
  notes: string[]
  /** Set when the scenario could not run here, with the reason. */
  skipped?: string
}

export interface Scenario {
  name: string
  description: string
  nodes: { default: number, quick: number, min: number, max: number }
  /** Upper bound on one run's wall time, ms (quick and full). */
  timeLimit: { quick: number, full: number }
  run: (ctx: ScenarioContext) => Promise<ScenarioResult>
}

/** The result of a scenario that cannot run here, saying why. */
export function skipped (reason: string): ScenarioResult {
  return { headline: {}, data: {}, targets: [], plots: [], notes: [], skipped: reason }
}
