// A sample nodejs driver for the agent's end-to-end tests: it writes what it
// received to ../report.txt, then stays up and prints a line per second.
'use strict';
const fs = require('fs');
const path = require('path');

const VERSION = '@VERSION@';
const hex = (s) => Buffer.from(s, 'utf8').toString('hex');

const rec = {
  version: VERSION,
  pid: String(process.pid),
  cwd: process.cwd(),
  files: fs.readdirSync('.').sort().join('\n'),
  env: Object.keys(process.env).sort().join('\n'),
};
for (const k of ['FUNCTION_ID', 'FUNCTION_NAME', 'FC_DRIVER_CONFIG', 'DRIVERHUB_CONFIG', 'LD_LIBRARY_PATH']) {
  if (k in process.env) rec[k] = process.env[k];
}
if (process.env.DRIVERHUB_CONFIG) {
  try {
    rec.DRIVERHUB_CONFIG_CONTENT = fs.readFileSync(process.env.DRIVERHUB_CONFIG, 'utf8');
  } catch (e) {
    rec.DRIVERHUB_CONFIG_ERROR = String(e);
  }
}
if (fs.existsSync('settings.ini')) rec.settings = fs.readFileSync('settings.ini', 'utf8');

const out = path.join('..', 'report.txt');
const tmp = out + '.tmp.' + process.pid;
fs.writeFileSync(tmp, Object.entries(rec).map(([k, v]) => k + '=' + hex(v) + '\n').join(''));
fs.renameSync(tmp, out);

let n = 0;
setInterval(() => {
  n++;
  console.log(`tick ${n} ${process.env.FUNCTION_NAME} ${VERSION}`);
}, 1000);
