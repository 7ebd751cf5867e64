// Preloaded into a benchmarked daemon (node --require): every 500 ms, overwrites the file named
// by PEERLINK_MEMORY_FILE with its process.memoryUsage() as JSON (rss, heapTotal, heapUsed,
// external, arrayBuffers, in bytes), so a benchmark can tell the JS heap from buffers and
// from what the allocator keeps.
const { writeFileSync } = require('node:fs')
const file = process.env.PEERLINK_MEMORY_FILE
if (file) {
  setInterval(() => {
    try { writeFileSync(file, JSON.stringify(process.memoryUsage())) } catch {}
  }, 500).unref()
}
