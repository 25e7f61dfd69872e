// node-llama-cpp is optional: a process configured for a local GGUF without it stops with the install command.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { assertLocalLlmInstalled, LOCAL_LLM_PACKAGE } from '../../src/jobs/stages/load.js';

const notInstalled = (specifier: string): string => {
  throw Object.assign(new Error(`Cannot find package '${specifier}'`), { code: 'ERR_MODULE_NOT_FOUND' });
};

test('LLAMA_MODEL_PATH without node-llama-cpp names the command that installs it', () => {
  assert.throws(
    () => assertLocalLlmInstalled({ LLAMA_MODEL_PATH: '/models/tiny.gguf' }, notInstalled),
    /LLAMA_MODEL_PATH is set, but the optional local-LLM backend is not installed: run `npm install node-llama-cpp`/,
  );
});

test('without LLAMA_MODEL_PATH the package is never looked for', () => {
  assert.doesNotThrow(() => assertLocalLlmInstalled({}, notInstalled));
});

test("with the package installed (as the llama tests need it) the check passes through Node's own resolver", () => {
  assert.doesNotThrow(() => assertLocalLlmInstalled({ LLAMA_MODEL_PATH: '/models/tiny.gguf' }));
});

test('node-llama-cpp is in no dependency list, so a plain install stays lean; setup.sh --with-llama pins it', () => {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8'));
  for (const list of ['dependencies', 'optionalDependencies', 'peerDependencies', 'devDependencies']) {
    assert.equal(pkg[list]?.[LOCAL_LLM_PACKAGE], undefined, `${LOCAL_LLM_PACKAGE} is in ${list}`);
  }
  const setup = readFileSync(new URL('../../scripts/setup.sh', import.meta.url), 'utf8');
  assert.match(setup, new RegExp(`^LLAMA_PACKAGE=${LOCAL_LLM_PACKAGE}@\\d+\\.\\d+\\.\\d+$`, 'm'));
});
