// Preloaded into a benchmarked child (node --require): writes its peak RSS in bytes to the
// file named by PEERLINK_RSS_FILE when it exits, and the CPU seconds it used (user + system,
// every thread) to PEERLINK_CPU_FILE: a figure the machine's other load changes far less.
const { writeFileSync } = require('node:fs')
process.on('exit', () => {
  const usage = process.resourceUsage()
  const file = process.env.PEERLINK_RSS_FILE
  if (file) writeFileSync(file, String(usage.maxRSS * 1024))
  const cpu = process.env.PEERLINK_CPU_FILE
  if (cpu) writeFileSync(cpu, String((usage.userCPUTime + usage.systemCPUTime) / 1e6))
})
