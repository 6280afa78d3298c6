// Prints the CID that the reference IPFS importer gives each file named on the command line, one line per
// file: "<cid>\t<path>". The options are the ones Kumo's C# importer reproduces (docs/CONTENT-ADDRESSING.md).
import { createReadStream } from 'node:fs'
import { BlackHoleBlockstore } from 'blockstore-core/black-hole'
import { importer } from 'ipfs-unixfs-importer'
import { fixedSize } from 'ipfs-unixfs-importer/chunker'
import { balanced } from 'ipfs-unixfs-importer/layout'

const options = {
  cidVersion: 1,
  rawLeaves: true,
  reduceSingleLeafToSelf: true,
  chunker: fixedSize({ chunkSize: 262144 }),
  layout: balanced({ maxChildrenPerNode: 174 })
}

const blockstore = new BlackHoleBlockstore()

for (const path of process.argv.slice(2)) {
  let count = 0
  for await (const entry of importer([{ content: createReadStream(path) }], blockstore, options)) {
    process.stdout.write(`${entry.cid.toString()}\t${path}\n`)
    count++
  }
  if (count !== 1) {
    throw new Error(`expected exactly one entry for ${path}, got ${count}`)
  }
}
