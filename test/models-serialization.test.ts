import test from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { registerModelClasses } from '../lib/models/classes';
import { useBackend } from '../lib/backend';
import { EUNN, EURNN, ModReLU } from '../lib/models/eurnn';
import { LMU, NengoLMU } from '../lib/models/lmu';
import { FusedLSTM } from '../lib/models/lstm';
import { SERIALIZATION_PACKAGE } from '../lib/models/serialization';
import { TemporalBlock, TemporalConvNet } from '../lib/models/tcn';
import { loadModel } from '../lib/train/saving';

// the round trips read models from JSON: the library's classes are registered explicitly
registerModelClasses();

const WEIGHTS = path.resolve(__dirname, '..', '..', 'notebooks', 'weights');
const LAYERS = [FusedLSTM, TemporalBlock, TemporalConvNet, EUNN, ModReLU, EURNN, LMU, NengoLMU];

test.before(async () => {
  await useBackend('cpu', { quiet: true });
});

test("every layer is registered by its class name, with the registered name 'seqmnist>ClassName'", () => {
  assert.equal(SERIALIZATION_PACKAGE, 'seqmnist');
  const map = tf.serialization.SerializationMap.getMap().classNameMap;
  for (const cls of LAYERS) {
    assert.equal(tf.serialization.getRegisteredName(cls), `seqmnist>${cls.className}`);
    assert.equal(map[cls.className]?.[0], cls, `${cls.className} deserialises by its class name`);
  }
  // the class names that saved model.json files hold
  assert.deepEqual(
    LAYERS.map((cls) => cls.className),
    ['FusedLSTM', 'TemporalBlock', 'TemporalConvNet', 'EUNN', 'ModReLU', 'EURNN', 'LMU', 'NengoLMU'],
  );
});

test('the shipped model.json files deserialise, topology and weights', async () => {
  const dirs = fs.readdirSync(WEIGHTS).filter((d) => fs.existsSync(path.join(WEIGHTS, d, 'model.json')));
  assert.ok(dirs.length >= 5, `shipped weights in ${WEIGHTS}: ${dirs.join(', ')}`);
  for (const dir of dirs) {
    const model = await loadModel(path.join(WEIGHTS, dir));
    const ours = model.layers.filter((l) => LAYERS.some((cls) => l instanceof cls));
    assert.ok(ours.length > 0, `${dir} holds a layer of this library`);
    model.dispose();
  }
});

test('loading the model modules registers nothing: the classes are registered by registerModelClasses alone', () => {
  const built = path.resolve(__dirname, '..', 'lib');
  const script = [
    "const tf = require('@tensorflow/tfjs');",
    `require(${JSON.stringify(path.join(built, 'models', 'lmu.js'))});`,
    `require(${JSON.stringify(path.join(built, 'models', 'lstm.js'))});`,
    'const map = tf.serialization.SerializationMap.getMap().classNameMap;',
    "const before = ['LMU', 'FusedLSTM'].filter((n) => map[n]);",
    `require(${JSON.stringify(path.join(built, 'models', 'classes.js'))}).registerModelClasses();`,
    "const after = ['LMU', 'FusedLSTM'].filter((n) => map[n]);",
    'console.log(JSON.stringify({ before, after }));',
  ].join('\n');
  const r = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', cwd: path.resolve(__dirname, '..', '..') });
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(JSON.parse(r.stdout.trim().split('\n').pop()!), { before: [], after: ['LMU', 'FusedLSTM'] });
});
