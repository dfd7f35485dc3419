// Runs a MicroPython program step by step on MicroPython's webassembly port,
// a 32-bit MicroPython (4-byte words, 16-byte GC blocks, as on the ESP32).
//
//   node run.mjs HEAPSIZE TREE MODULE [ARG...]
//
// HEAPSIZE  the heap MicroPython starts with, in bytes or with a k/m suffix
// TREE      a folder copied into the port's in-memory filesystem at /fw;
//           /fw/lib goes first on sys.path
// MODULE    imported, then its step() is called until it returns False;
//           sys.argv is [MODULE, ARG...]
//
// This port never scans its own stack, so it collects garbage only when
// control is back here, between two calls, and when an allocation fails
// inside a call it adds a heap area instead of raising MemoryError. One
// call per step therefore means: the collector runs between steps only, and
// any step that needed more than the heap left free at its start makes the
// heap grow, which the program sees in gc.mem_free() + gc.mem_alloc().
import fs from "fs";
import path from "path";
import { loadMicroPython } from "@micropython/micropython-webassembly-pyscript";

function parseSize(text) {
  const m = /^(\d+)([kKmM]?)$/.exec(text);
  if (!m) {
    throw new Error(`heap size ${text}: expected bytes, or a number with k or m`);
  }
  const scale = { "": 1, k: 1024, m: 1048576 }[m[2].toLowerCase()];
  return parseInt(m[1], 10) * scale;
}

function copyIn(mp, src, dst) {
  mp.FS.mkdirTree(dst);
  for (const entry of fs.readdirSync(src, { withFileTypes: true })) {
    const from = path.join(src, entry.name);
    const to = `${dst}/${entry.name}`;
    if (entry.isDirectory()) {
      copyIn(mp, from, to);
    } else {
      mp.FS.writeFile(to, fs.readFileSync(from));
    }
  }
}

async function main() {
  const [heap, tree, module, ...args] = process.argv.slice(2);
  if (!module) {
    console.error("usage: node run.mjs HEAPSIZE TREE MODULE [ARG...]");
    return 2;
  }
  const mp = await loadMicroPython({
    heapsize: parseSize(heap),
    stdout: (data) => process.stdout.write(data),
    stderr: (data) => process.stderr.write(data),
    linebuffer: false,
  });
  copyIn(mp, tree, "/fw");
  try {
    mp.runPython(`import sys\nsys.path.insert(0, "/fw/lib")\nsys.argv[:] = ${JSON.stringify([module, ...args])}`);
    const step = mp.pyimport(module).step;
    while (step()) {
      // one step per call: the port collects between them
    }
  } catch (error) {
    if (error.name !== "PythonError") {
      throw error;
    }
    process.stderr.write(error.message);
    return 1;
  }
  return 0;
}

process.exitCode = await main();
