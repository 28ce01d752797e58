// Decrypts SOPS files with sops-age, a SOPS implementation independent of
// swarmkeeper's (tests/sops.rs compares the two), and prints
// {"<file>": <decrypted value>, ...} as JSON on stdout.
//
//   node sops-decrypt.mjs KEY_FILE FILE...
//
// KEY_FILE holds an AGE-SECRET-KEY-1... line; a file's form follows its
// extension as sops chooses it (.yaml, .env, anything else JSON, which is
// also the form of sops's binary files).
import { readFileSync } from "node:fs";
import { decryptSops } from "sops-age";

const [keyFile, ...files] = process.argv.slice(2);
const secretKey = readFileSync(keyFile, "utf8")
  .split("\n")
  .find((line) => line.startsWith("AGE-SECRET-KEY-1"));
if (!secretKey) {
  console.error(`${keyFile} holds no AGE-SECRET-KEY-1 line`);
  process.exit(2);
}
const out = {};
for (const file of files) {
  const text = readFileSync(file, "utf8");
  const fileType = /\.ya?ml$/.test(file) ? "yaml" : file.endsWith(".env") ? "env" : "json";
  out[file] = await decryptSops(text, { secretKey, fileType });
}
console.log(JSON.stringify(out));
