// Plain JavaScript on purpose: it must run, and explain itself, on the older Node it rejects.
const [major, minor] = process.versions.node.split('.').map(Number);
// 22.18 is the first Node 22 that runs TypeScript sources without a flag (their types erased as they load).
if (major < 22 || (major === 22 && minor < 18)) {
  console.error(
    `saga: Node.js >= 22.18 is required, but this is ${process.version} (${process.execPath}).\n` +
      '  Run through npm (`npm start`, `npm test`, `npx saga ...`): `npm ci` installs a Node 22 binary\n' +
      '  into node_modules/.bin for Linux x64/arm64. Elsewhere install Node 22 or later (e.g. `nvm install 22`).',
  );
  process.exit(1);
}
