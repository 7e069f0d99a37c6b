import test from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'fs';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { useBackend } from '../lib/backend';
import { EUNN, EURNN, ModReLU } from '../lib/models/eurnn';
import { LMU, NengoLMU } from '../lib/models/lmu';
import { FusedLSTM } from '../lib/models/lstm';
import { SERIALIZATION_PACKAGE } from '../lib/models/serialization';
import { TemporalBlock, TemporalConvNet } from '../lib/models/tcn';
import { loadModel } from '../lib/train/saving';

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
