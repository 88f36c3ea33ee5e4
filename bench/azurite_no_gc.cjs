// Preloaded into the Azurite of `python -m bench.history --run` (NODE_OPTIONS=--require ...). Azurite's blob GC, a
// mark and sweep every 10 minutes that pages through every blob it holds, blocks the server for many minutes once
// it holds hundreds of thousands of blobs (seen at 300,000: no answer for over 5 minutes). A measurement run never
// needs that space back, so the next sweep is put off by a day. Not used anywhere else.
const path = require("path");
const constants = require(path.join(__dirname, "..", "node_modules", "azurite", "dist", "src", "blob", "utils",
  "constants.js"));
constants.DEFAULT_GC_INTERVAL_MS = 24 * 60 * 60 * 1000;
