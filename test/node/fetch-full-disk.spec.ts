// A fetch that ran out of disk half-way resumes once some space is freed: the space check asks
// only for what is still missing, not for the whole file again (and no gc is needed).
import { spawn } from 'node:child_process'
import { readFile, rm, statfs, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { expect } from 'chai'
import { CLI, daemonScratch, runCli, startDaemonProcess } from '../helpers/cli.js'
import { randomFile } from '../helpers/network.js'
import { smallDisk } from '../helpers/repo.js'

const MiB = 1024 * 1024

async function freeBytes (path: string): Promise<number> {
  const s = await statfs(path)
  return s.bavail * s.bsize
}

describe('a fetch interrupted by a full disk', function () {
  this.timeout(120_000)
  const scratch = daemonScratch()

  it('resumes after space is freed, asking room only for the missing blocks', async function () {
    const size = 48 * MiB
    const disk = await smallDisk(this, join(scratch.path, 'small-disk'), 128)
    try {
      scratch.daemon = await startDaemonProcess(join(scratch.path, 'daemon'))
      const f = await randomFile(scratch.path, 'big.bin', size)
      const added = await runCli(['--repo', scratch.daemon.repo, 'add', '--json', f.path], {}, 60_000)
      const [{ ticket }] = JSON.parse(added.stdout) as Array<{ ticket: string }>
      const repo = join(disk.path, 'repo')
      expect((await runCli(['--repo', repo, 'init', '--listen', '/ip4/127.0.0.1/tcp/0'])).code).to.equal(0)
      const out = join(scratch.path, 'copy.bin')

      // Fill the disk while the fetch is part-way: paused, the rest of the space taken, resumed.
      const total = await freeBytes(disk.path)
      const child = spawn(process.execPath, [CLI, '--repo', repo, 'fetch', ticket, '-o', out], { stdio: 'ignore' })
      const closed = new Promise<number | null>(resolve => child.once('close', resolve))
      const deadline = Date.now() + 60_000
      while (child.exitCode === null && Date.now() < deadline && total - await freeBytes(disk.path) < 20 * MiB) await new Promise(resolve => setTimeout(resolve, 5))
      child.kill('SIGSTOP')
      const filler = join(disk.path, 'filler')
      await writeFile(filler, Buffer.alloc(await freeBytes(disk.path))).catch(() => {})
      child.kill('SIGCONT')
      expect(await closed, 'the fetch ran out of space').to.equal(9)

      // Free some space: less than the whole file needs, more than what is missing.
      await rm(filler)
      const have = total - await freeBytes(disk.path)
      const whole = Math.ceil(size * 14 / 10) + 16 * MiB // content, parity and head-room
      expect(have, 'part of the file was stored').to.be.greaterThan(16 * MiB)
      await writeFile(filler, Buffer.alloc(await freeBytes(disk.path) - (whole - Math.floor(have / 2))))
      expect(await freeBytes(disk.path)).to.be.lessThan(whole)

      const retry = await runCli(['--repo', repo, 'fetch', ticket, '-o', out], {}, 60_000)
      expect(retry.code, retry.stderr).to.equal(0)
      expect((await readFile(out)).equals(f.bytes)).to.equal(true)
    } finally {
      disk.unmount() // the daemon (its repo is off the small disk) is stopped by the scratch's hook
    }
  })
})
