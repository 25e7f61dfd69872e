/** A dependency-free reader of an ONNX file's graph inputs and outputs (protobuf wire format), for verification without onnxruntime. */
import { RegistryError } from './common.js';

export interface OnnxValueInfo {
  name: string;
  /** Each dimension: a number, a symbolic name, or null when the graph leaves it open. */
  shape: (number | string | null)[] | null;
}

export interface OnnxSummary {
  irVersion: number;
  opsets: number[];
  inputs: OnnxValueInfo[];
  outputs: OnnxValueInfo[];
}

interface ProtoField {
  field: number;
  wire: number;
  value: bigint;
  bytes?: Uint8Array;
}

/**
 * Walks the top level of a protobuf message, checking that every field's length fits inside the buffer.
 * A truncated file fails here: its last length-delimited field promises more bytes than remain.
 */
function protoFields(buf: Uint8Array, what: string): ProtoField[] {
  const out: ProtoField[] = [];
  let i = 0;
  const varint = (): bigint => {
    let result = 0n;
    let shift = 0n;
    for (;;) {
      if (i >= buf.length) throw new RegistryError(`${what}: a number runs past the end of the data (truncated?)`);
      const b = buf[i++];
      result |= BigInt(b & 0x7f) << shift;
      if ((b & 0x80) === 0) return result;
      shift += 7n;
      if (shift > 70n) throw new RegistryError(`${what}: malformed protobuf number`);
    }
  };
  while (i < buf.length) {
    const key = varint();
    const field = Number(key >> 3n);
    const wire = Number(key & 7n);
    if (field === 0) throw new RegistryError(`${what}: field number 0 at byte ${i} (not a protobuf message)`);
    if (wire === 0) out.push({ field, wire, value: varint() });
    else if (wire === 1 || wire === 5) {
      const size = wire === 1 ? 8 : 4;
      if (i + size > buf.length)
        throw new RegistryError(`${what}: a fixed-size field runs past the end of the data (truncated?)`);
      i += size;
      out.push({ field, wire, value: 0n });
    } else if (wire === 2) {
      const len = Number(varint());
      if (i + len > buf.length) {
        throw new RegistryError(
          `${what}: field ${field} claims ${len} bytes but only ${buf.length - i} remain (truncated file)`,
        );
      }
      out.push({ field, wire, value: BigInt(len), bytes: buf.subarray(i, i + len) });
      i += len;
    } else {
      throw new RegistryError(`${what}: unsupported protobuf wire type ${wire} at byte ${i} (not an ONNX model)`);
    }
  }
  return out;
}

const utf8 = new TextDecoder('utf-8', { fatal: false });

function valueInfo(bytes: Uint8Array, what: string): OnnxValueInfo {
  // ValueInfoProto: 1 name, 2 type → TypeProto: 1 tensor_type → 2 shape → TensorShapeProto: 1 dim → 1 dim_value, 2 dim_param
  const fields = protoFields(bytes, what);
  const name = utf8.decode(fields.find((f) => f.field === 1)?.bytes ?? new Uint8Array());
  const type = fields.find((f) => f.field === 2)?.bytes;
  const tensor = type ? protoFields(type, what).find((f) => f.field === 1)?.bytes : undefined;
  const shapeBytes = tensor ? protoFields(tensor, what).find((f) => f.field === 2)?.bytes : undefined;
  if (!shapeBytes) return { name, shape: null };
  const shape = protoFields(shapeBytes, what)
    .filter((f) => f.field === 1 && f.bytes)
    .map((d) => {
      const dim = protoFields(d.bytes!, what);
      const value = dim.find((f) => f.field === 1 && f.wire === 0);
      if (value) return Number(value.value);
      const param = dim.find((f) => f.field === 2)?.bytes;
      return param ? utf8.decode(param) : null;
    });
  return { name, shape };
}

/**
 * A cheap structural check of an ONNX file (no onnxruntime): the ModelProto parses to the last byte, has an
 * IR version, an opset and a graph, and the graph's input and output names and shapes are read back.
 */
export function inspectOnnx(bytes: Uint8Array, what = 'onnx'): OnnxSummary {
  if (bytes.length === 0) throw new RegistryError(`${what}: empty file`);
  // ModelProto: 1 ir_version, 7 graph, 8 opset_import (OperatorSetIdProto: 2 version)
  const top = protoFields(bytes, what);
  const ir = top.find((f) => f.field === 1 && f.wire === 0);
  const graph = top.find((f) => f.field === 7 && f.wire === 2)?.bytes;
  const opsets = top
    .filter((f) => f.field === 8 && f.bytes)
    .map((f) => Number(protoFields(f.bytes!, what).find((g) => g.field === 2)?.value ?? 0n));
  if (!ir) throw new RegistryError(`${what}: no ir_version (not an ONNX model)`);
  if (!graph) throw new RegistryError(`${what}: no graph (not an ONNX model)`);
  if (opsets.length === 0) throw new RegistryError(`${what}: no opset_import (not an ONNX model)`);
  // GraphProto: 11 input, 12 output; initializers (5) may also be listed as inputs by old exporters
  const g = protoFields(graph, `${what} graph`);
  const initializerNames = new Set(
    g
      .filter((f) => f.field === 5 && f.bytes)
      .map((f) => utf8.decode(protoFields(f.bytes!, what).find((t) => t.field === 8)?.bytes ?? new Uint8Array())),
  );
  const inputs = g
    .filter((f) => f.field === 11 && f.bytes)
    .map((f) => valueInfo(f.bytes!, what))
    .filter((v) => !initializerNames.has(v.name));
  const outputs = g.filter((f) => f.field === 12 && f.bytes).map((f) => valueInfo(f.bytes!, what));
  return { irVersion: Number(ir.value), opsets, inputs, outputs };
}
