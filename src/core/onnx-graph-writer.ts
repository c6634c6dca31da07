/**
 * A small ONNX graph writer shared by the project's graph builders (the NCA rollout's forward and backward,
 * the scotopic NCA's step): node outputs are returned, so a graph reads like code; int64 and float constants are
 * shared by value. Float32 tensors only; opset 19.
 */
import onnxProto from 'onnx-proto';

const { onnx } = onnxProto;

type NodeProto = InstanceType<typeof onnx.NodeProto>;
type ValueInfoProto = InstanceType<typeof onnx.ValueInfoProto>;
type TensorProto = InstanceType<typeof onnx.TensorProto>;
type AttributeProto = InstanceType<typeof onnx.AttributeProto>;
export type AttrValue = number | number[] | string;

/** A small ONNX graph writer: every node's output name is returned so graphs read like code. */
export class GraphWriter {
  readonly nodes: NodeProto[] = [];
  readonly inputs: ValueInfoProto[] = [];
  readonly outputs: ValueInfoProto[] = [];
  readonly inits: TensorProto[] = [];
  private readonly constants = new Map<string, string>();
  private count = 0;

  input(name: string, dims: number[]): string {
    this.inputs.push(valueInfo(name, dims));
    return name;
  }
  output(name: string, dims: number[]): void {
    this.outputs.push(valueInfo(name, dims));
  }
  /** Adds a node; returns its (first) output. `name` fixes the output name (graph outputs). */
  op(opType: string, input: string[], attrs: Record<string, AttrValue> = {}, name?: string): string {
    const out = name ?? `${opType.toLowerCase()}_${this.count++}`;
    const attribute = Object.entries(attrs).map(([k, v]) => attr(k, v));
    this.nodes.push(onnx.NodeProto.create({ opType, input, output: [out], attribute, name: out }));
    return out;
  }
  /** Node with several outputs (Split). */
  opMulti(opType: string, input: string[], outputs: number, attrs: Record<string, AttrValue> = {}): string[] {
    const base = `${opType.toLowerCase()}_${this.count++}`;
    const output = Array.from({ length: outputs }, (_, k) => `${base}_${k}`);
    const attribute = Object.entries(attrs).map(([k, v]) => attr(k, v));
    this.nodes.push(onnx.NodeProto.create({ opType, input, output, attribute, name: base }));
    return output;
  }
  /** An int64 constant (shapes, pads, slice bounds, indices), shared by value. */
  ints(values: number[], dims: number[] = [values.length]): string {
    const key = `i${dims.join('x')}:${values.join(',')}`;
    let name = this.constants.get(key);
    if (!name) {
      name = `const_${this.constants.size}`;
      this.inits.push(onnx.TensorProto.create({ name, dims, dataType: onnx.TensorProto.DataType.INT64, int64Data: values }));
      this.constants.set(key, name);
    }
    return name;
  }
  /** A float32 constant filled with `value`. */
  floats(value: number, dims: number[]): string {
    const key = `f${dims.join('x')}:${value}`;
    let name = this.constants.get(key);
    if (!name) {
      name = `const_${this.constants.size}`;
      const data = new Float32Array(dims.reduce((a, b) => a * b, 1)).fill(value);
      this.inits.push(onnx.TensorProto.create({ name, dims, dataType: onnx.TensorProto.DataType.FLOAT, rawData: new Uint8Array(data.buffer) }));
      this.constants.set(key, name);
    }
    return name;
  }
  reshape(x: string, dims: number[], name?: string): string {
    return this.op('Reshape', [x, this.ints(dims)], {}, name);
  }
  /** x[..., start:end, ...] along one axis. */
  slice(x: string, axis: number, start: number, end: number, name?: string): string {
    return this.op('Slice', [x, this.ints([start]), this.ints([end]), this.ints([axis])], {}, name);
  }
  encode(graphName: string): Uint8Array {
    const model = onnx.ModelProto.create({
      irVersion: 8,
      producerName: 'nca',
      opsetImport: [{ domain: '', version: 19 }],
      graph: { name: graphName, node: this.nodes, initializer: this.inits, input: this.inputs, output: this.outputs },
    });
    return onnx.ModelProto.encode(model).finish();
  }
}

function valueInfo(name: string, dims: number[]): ValueInfoProto {
  return onnx.ValueInfoProto.create({ name, type: { tensorType: { elemType: onnx.TensorProto.DataType.FLOAT, shape: { dim: dims.map((d) => ({ dimValue: d })) } } } });
}

function attr(name: string, value: AttrValue): AttributeProto {
  const T = onnx.AttributeProto.AttributeType;
  if (typeof value === 'string') return onnx.AttributeProto.create({ name, type: T.STRING, s: new TextEncoder().encode(value) });
  if (Array.isArray(value)) return onnx.AttributeProto.create({ name, type: T.INTS, ints: value });
  return onnx.AttributeProto.create({ name, type: T.INT, i: value });
}
