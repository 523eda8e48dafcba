// Compiles contracts/src with the pinned npm solc and writes build/<Contract>.json (ABI and
// bytecode). `node compile.js --check` compiles again and fails if the committed artefacts
// differ from what the sources produce, so the two cannot drift apart.
"use strict";
const fs = require("fs");
const path = require("path");
const solc = require("solc");

const SRC = path.join(__dirname, "src");
const BUILD = path.join(__dirname, "build");
// Ganache 7 implements up to shanghai; newer defaults emit opcodes it rejects.
const EVM_VERSION = "shanghai";
const DEPLOYED = ["LedgerAnchor", "RecordRegistry", "ConsentRegistry"];

function compile() {
  const sources = {};
  for (const file of fs.readdirSync(SRC).sort()) {
    if (file.endsWith(".sol")) {
      sources[file] = { content: fs.readFileSync(path.join(SRC, file), "utf8") };
    }
  }
  const input = {
    language: "Solidity",
    sources,
    settings: {
      evmVersion: EVM_VERSION,
      optimizer: { enabled: true, runs: 200 },
      outputSelection: { "*": { "*": ["abi", "evm.bytecode.object"] } },
    },
  };
  const output = JSON.parse(solc.compile(JSON.stringify(input)));
  const errors = (output.errors || []).filter((e) => e.severity === "error");
  for (const e of output.errors || []) console.error(e.formattedMessage);
  if (errors.length > 0) process.exit(1);

  const artefacts = {};
  for (const name of DEPLOYED) {
    const contract = output.contracts[`${name}.sol`][name];
    artefacts[name] =
      JSON.stringify(
        { contractName: name, compiler: `solc ${solc.version()}`, evmVersion: EVM_VERSION, abi: contract.abi, bytecode: `0x${contract.evm.bytecode.object}` },
        null,
        2,
      ) + "\n";
  }
  return artefacts;
}

function main() {
  const check = process.argv.includes("--check");
  const artefacts = compile();
  let stale = 0;
  for (const [name, text] of Object.entries(artefacts)) {
    const file = path.join(BUILD, `${name}.json`);
    if (check) {
      const committed = fs.existsSync(file) ? fs.readFileSync(file, "utf8") : "";
      if (committed !== text) {
        console.error(`contracts/build/${name}.json does not match contracts/src: run \`npm run build\` in contracts/`);
        stale += 1;
      }
    } else {
      fs.mkdirSync(BUILD, { recursive: true });
      fs.writeFileSync(file, text);
      console.log(`wrote contracts/build/${name}.json`);
    }
  }
  if (stale > 0) process.exit(1);
  if (check) console.log(`contracts: ${Object.keys(artefacts).length} artefacts match their sources`);
}

main();
