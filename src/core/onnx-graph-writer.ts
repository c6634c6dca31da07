/**
 * The project's one ONNX graph writer, used by every graph it builds: the NCA engine's step and the rollout's
 * forward and backward (nca/), the hypernetwork, decoder and encoder for training (model/onnx-networks/), the
 * encoder at inference (model/encoder-onnx.ts), the growing NCA (grow/) and the scotopic NCA (reconstruct/).
 * Every op returns its output's name, so a graph reads like code; int64 and float constants are shared by value;
 * dimensions may be symbolic (a name), so one session serves every batch or grid; `encode` drops what no output
 * needs. Float32 tensors only; opset 19 (Pad's `wrap` mode, the torus).
 */
import onnxProto from 'onnx-proto';

const { onnx } = onnxProto;

type NodeProto = InstanceType<typeof onnx.NodeProto>;
type ValueInfoProto = InstanceType<typeof onnx.ValueInfoProto>;
type TensorProto = InstanceType<typeof onnx.TensorProto>;
type AttributeProto = InstanceType<typeof onnx.AttributeProto>;

/** The opset of every graph. */
export const OPSET = 19;

/** A float attribute (a bare number is an INT attribute). */
export interface FloatAttr {
  readonly float: number;
}
export const float = (value: number): FloatAttr => ({ float: value });
export type AttrValue = number | number[] | string | FloatAttr;

/** A dimension: a number, or a name for a symbolic one (a batch, a grid side). */
export type Dim = number | string;

export class GraphBuilder {
  private readonly nodes: NodeProto[] = [];
  private readonly inputs: ValueInfoProto[] = [];
  private readonly outputs: ValueInfoProto[] = [];
  private readonly inits: TensorProto[] = [];
  private readonly constants = new Map<string, string>();
  private count = 0;

  /** Declares a float32 graph input; returns its name. */
  input(name: string, dims: Dim[]): string {
    this.inputs.push(valueInfo(name, dims));
    return name;
  }

  /**
   * Makes `value` a graph output called `name`: declared as it is when `value` already has that name
   * (a node made with `op(..., name)`), else through an Identity, so any value can be one.
   */
  output(value: string, name: string, dims: Dim[]): string {
    if (value !== name) this.op('Identity', [value], {}, name);
    this.outputs.push(valueInfo(name, dims));
    return name;
  }

  /** Adds a node; returns its (first) output. `name` fixes the output's name. */
  op(opType: string, input: string[], attrs: Record<string, AttrValue> = {}, name?: string): string {
    const out = name ?? `${opType.toLowerCase()}_${this.count++}`;
    this.nodes.push(onnx.NodeProto.create({ opType, input, output: [out], attribute: attributes(attrs), name: out }));
    return out;
  }

  /** A node with `outputs` outputs (LayerNormalization's mean / inverse std, Split, ...). */
  opMulti(opType: string, input: string[], outputs: number, attrs: Record<string, AttrValue> = {}): string[] {
    const base = `${opType.toLowerCase()}_${this.count++}`;
    const output = Array.from({ length: outputs }, (_, k) => `${base}_${k}`);
    this.nodes.push(onnx.NodeProto.create({ opType, input, output, attribute: attributes(attrs), name: base }));
    return output;
  }

  /** An int64 constant (shapes, axes, pads, slice bounds, indices) of shape `dims` (default a vector), shared by value. */
  ints(values: number[], dims: number[] = [values.length]): string {
    return this.constant(`i${dims.join('x')}:${values.join(',')}`, () =>
      onnx.TensorProto.create({ dims, dataType: onnx.TensorProto.DataType.INT64, int64Data: values }),
    );
  }

  /** A float32 constant of shape `dims` (default a scalar) filled with `value`, or holding `values`. */
  floats(value: number | Float32Array, dims: number[] = []): string {
    const data = typeof value === 'number' ? new Float32Array(dims.reduce((a, b) => a * b, 1)).fill(value) : value;
    const key = `f${dims.join('x')}:${typeof value === 'number' ? value : Array.from(value).join(',')}`;
    return this.constant(key, () => floatTensor(data, dims));
  }

  /** A named float32 initializer holding `data` of shape `dims` (weights baked into the graph); returns `name`. */
  initializer(name: string, data: Float32Array, dims: readonly number[]): string {
    const size = dims.reduce((a, b) => a * b, 1);
    if (data.length !== size) throw new RangeError(`initializer ${name} has ${data.length} values; expected [${dims.join('][')}] = ${size}`);
    const t = floatTensor(data, dims);
    t.name = name;
    this.inits.push(t);
    return name;
  }

  // Shorthands for the ops the graphs use most.
  add(a: string, b: string): string {
    return this.op('Add', [a, b]);
  }
  sub(a: string, b: string): string {
    return this.op('Sub', [a, b]);
  }
  mul(a: string, b: string): string {
    return this.op('Mul', [a, b]);
  }
  reshape(x: string, dims: number[], name?: string): string {
    return this.op('Reshape', [x, this.ints(dims)], {}, name);
  }
  /** x[..., start:end, ...] along one axis. */
  slice(x: string, axis: number, start: number, end: number, name?: string): string {
    return this.op('Slice', [x, this.ints([start]), this.ints([end]), this.ints([axis])], {}, name);
  }
  transpose(x: string, perm: number[]): string {
    return this.op('Transpose', [x], { perm });
  }
  /** Sum over `axes` (keepdims 0 unless asked). */
  reduceSum(x: string, axes: number[], keepdims = 0): string {
    return this.op('ReduceSum', [x, this.ints(axes)], { keepdims });
  }
  /** Mean over `axes`, keeping them (keepdims 1 unless asked). */
  reduceMean(x: string, axes: number[], keepdims = 1): string {
    return this.op('ReduceMean', [x, this.ints(axes)], { keepdims });
  }
  /** g where x > 0, else 0: the ReLU backward (ReLU'(0) = 0, as tfjs and PyTorch). */
  reluMask(g: string, x: string): string {
    const zero = this.floats(0);
    return this.op('Where', [this.op('Greater', [x, zero]), g, zero]);
  }

  /**
   * The ONNX model. Nodes that no graph output depends on are dropped, and so are the inputs and
   * constants nothing reads (a backward-only graph declares the forward's inputs and nodes, and keeps
   * only what its gradients need).
   */
  encode(graphName: string): Uint8Array {
    const needed = new Set(this.outputs.map((o) => o.name));
    const kept: NodeProto[] = [];
    for (let i = this.nodes.length - 1; i >= 0; i--) {
      const node = this.nodes[i]!;
      if (!node.output.some((o) => needed.has(o))) continue;
      kept.push(node);
      for (const name of node.input) needed.add(name);
    }
    const model = onnx.ModelProto.create({
      irVersion: 8,
      producerName: 'nca',
      opsetImport: [{ domain: '', version: OPSET }],
      graph: {
        name: graphName,
        node: kept.reverse(),
        initializer: this.inits.filter((t) => needed.has(t.name)),
        input: this.inputs.filter((t) => needed.has(t.name)),
        output: this.outputs,
      },
    });
    return onnx.ModelProto.encode(model).finish();
  }

  private constant(key: string, make: () => TensorProto): string {
    let name = this.constants.get(key);
    if (!name) {
      name = `const_${this.constants.size}`;
      const t = make();
      t.name = name;
      this.inits.push(t);
      this.constants.set(key, name);
    }
    return name;
  }
}

function valueInfo(name: string, dims: Dim[]): ValueInfoProto {
  return onnx.ValueInfoProto.create({
    name,
    type: { tensorType: { elemType: onnx.TensorProto.DataType.FLOAT, shape: { dim: dims.map((d) => (typeof d === 'string' ? { dimParam: d } : { dimValue: d })) } } },
  });
}

function attributes(attrs: Record<string, AttrValue>): AttributeProto[] {
  const T = onnx.AttributeProto.AttributeType;
  return Object.entries(attrs).map(([name, v]) => {
    if (typeof v === 'string') return onnx.AttributeProto.create({ name, type: T.STRING, s: new TextEncoder().encode(v) });
    if (Array.isArray(v)) return onnx.AttributeProto.create({ name, type: T.INTS, ints: v });
    if (typeof v === 'number') return onnx.AttributeProto.create({ name, type: T.INT, i: v });
    return onnx.AttributeProto.create({ name, type: T.FLOAT, f: v.float });
  });
}

function floatTensor(data: Float32Array, dims: readonly number[]): TensorProto {
  return onnx.TensorProto.create({ dims: [...dims], dataType: onnx.TensorProto.DataType.FLOAT, rawData: new Uint8Array(data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength)) });
}

