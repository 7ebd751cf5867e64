// What the user picked or dropped, as an upload: one file, or a folder's files with their
// paths inside it (from a directory input's webkitRelativePath, or by walking a dropped
// folder's entries).
import type { Upload } from './api.js'

/** Files one folder may hold (the daemon's bound, src/api/folder-upload.ts). */
const MAX_FILES = 10_000

/** From a file input: a folder when the input picks directories (its files carry their relative paths). */
export function fromInput (files: FileList | null): Upload | undefined {
  const list = [...(files ?? [])]
  if (list.length === 0) return undefined
  const rel = list[0].webkitRelativePath
  if (rel === '') return { kind: 'file', file: list[0] }
  if (list.length > MAX_FILES) throw new Error(`a folder may hold at most ${MAX_FILES} files`)
  const name = rel.split('/')[0]
  return { kind: 'folder', name, files: list.map(f => ({ path: f.webkitRelativePath.split('/').slice(1).join('/'), file: f })) }
}

/**
 * From a drop: the first item, a folder walked whole. The item is read before this returns:
 * a drop's data can be read only while its event is dispatched.
 */
export function fromDrop (data: DataTransfer | null): Promise<Upload | undefined> {
  const entry = data?.items[0]?.webkitGetAsEntry() ?? null
  const file = data?.files[0]
  return (async () => {
    // No entry (a drop a script made): its file, if any.
    if (entry === null) return file !== undefined ? { kind: 'file', file } : undefined
    if (entry.isFile) return { kind: 'file', file: await fileOf(entry as FileSystemFileEntry) }
    const files: Array<{ path: string, file: File }> = []
    await walk(entry as FileSystemDirectoryEntry, '', files)
    return { kind: 'folder', name: entry.name, files }
  })()
}

async function walk (dir: FileSystemDirectoryEntry, prefix: string, out: Array<{ path: string, file: File }>): Promise<void> {
  const reader = dir.createReader()
  // readEntries gives a batch at a time (100 in Chromium) until an empty one.
  for (;;) {
    const batch = await new Promise<FileSystemEntry[]>((resolve, reject) => { reader.readEntries(resolve, reject) })
    if (batch.length === 0) return
    for (const e of batch) {
      if (e.isDirectory) await walk(e as FileSystemDirectoryEntry, `${prefix}${e.name}/`, out)
      else out.push({ path: `${prefix}${e.name}`, file: await fileOf(e as FileSystemFileEntry) })
      if (out.length > MAX_FILES) throw new Error(`a folder may hold at most ${MAX_FILES} files`)
    }
  }
}

async function fileOf (entry: FileSystemFileEntry): Promise<File> {
  return await new Promise((resolve, reject) => { entry.file(resolve, reject) })
}
