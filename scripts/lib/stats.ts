// The benchmarks' statistics are the simulations' (one median for both); this path is kept
// for the scripts that import it from here.
export { median, percentile, round } from '../../simulations/lib/stats.js'
