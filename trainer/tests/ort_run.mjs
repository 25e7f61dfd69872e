// Runs one ONNX model with onnxruntime-node (Debian has no Python onnxruntime) so the Python tests can check the
// exported graphs in a real runtime. Usage: node ort_run.mjs model.onnx inputs.json outputs.json
// inputs.json: { name: { "dtype": "float32"|"int64", "dims": [...], "data": [...] } }; outputs.json: same shape.
import { readFileSync, writeFileSync } from 'node:fs';
import ort from 'onnxruntime-node';

const [model, inPath, outPath] = process.argv.slice(2);
const raw = JSON.parse(readFileSync(inPath, 'utf8'));
const feeds = {};
for (const [name, t] of Object.entries(raw)) {
  const data = t.dtype === 'int64' ? BigInt64Array.from(t.data.map((v) => BigInt(v))) : Float32Array.from(t.data);
  feeds[name] = new ort.Tensor(t.dtype, data, t.dims);
}
const session = await ort.InferenceSession.create(model);
const result = await session.run(feeds);
const out = {};
for (const [name, t] of Object.entries(result)) {
  out[name] = { dtype: t.type, dims: t.dims, data: Array.from(t.data, (v) => Number(v)) };
}
writeFileSync(outPath, JSON.stringify(out));
