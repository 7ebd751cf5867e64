// Preloaded into a benchmarked child (node --require): writes its peak RSS in bytes to the
// file named by PEERLINK_RSS_FILE when it exits.
const { writeFileSync } = require('node:fs')
process.on('exit', () => {
  const file = process.env.PEERLINK_RSS_FILE
  if (file) writeFileSync(file, String(process.resourceUsage().maxRSS * 1024))
})
