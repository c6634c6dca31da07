/**
 * The small ONNX graph writer and session runner shared by the networks' training graphs
 * (hypernetwork.ts, decoder.ts, encoder.ts in this folder).
 *
 * The same idea as the private `GraphWriter` of nca/rollout-graph.ts (every op returns its output
 * name, so a graph reads like code), plus what these graphs need and that one lacks: float
 * attributes, a symbolic batch dimension (one session serves every batch size), float tensors fed
 * as graph inputs with names of any form, and several outputs per node. rollout-graph.ts could
 * move onto this writer (not done here: that file belongs to the NCA op).
 */
import { availableParallelism } from 'node:os';
import onnxProto from 'onnx-proto';
import type ort from 'onnxruntime-node';
import type { NamedArrays } from '../weights.js';

const { onnx } = onnxProto;

type NodeProto = InstanceType<typeof onnx.NodeProto>;
type ValueInfoProto = InstanceType<typeof onnx.ValueInfoProto>;
type TensorProto = InstanceType<typeof onnx.TensorProto>;
type AttributeProto = InstanceType<typeof onnx.AttributeProto>;

/** A float attribute (a bare number is an INT attribute). */
export interface FloatAttr {
  readonly float: number;
}
export const float = (value: number): FloatAttr => ({ float: value });
export type AttrValue = number | number[] | string | FloatAttr;

/** A dimension: a number, or a name for a symbolic one (the batch). */
export type Dim = number | string;

/** The symbolic batch dimension of every graph in this folder. */
export const BATCH = 'batch';

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

  /** Makes `value` a graph output called `name` (through an Identity, so any value can be one). */
  output(value: string, name: string, dims: Dim[]): string {
    this.op('Identity', [value], {}, name);
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

  /** An int64 constant (shapes, axes, slice bounds), shared by value. */
  ints(values: number[]): string {
    return this.constant(`i:${values.join(',')}`, () =>
      onnx.TensorProto.create({ dims: [values.length], dataType: onnx.TensorProto.DataType.INT64, int64Data: values }),
    );
  }

  /** A float32 constant of shape `dims` (default a scalar) filled with `value`, or holding `values`. */
  floats(value: number | Float32Array, dims: number[] = []): string {
    const data = typeof value === 'number' ? new Float32Array(dims.reduce((a, b) => a * b, 1)).fill(value) : value;
    const key = `f${dims.join('x')}:${typeof value === 'number' ? value : Array.from(value).join(',')}`;
    return this.constant(key, () => onnx.TensorProto.create({ dims, dataType: onnx.TensorProto.DataType.FLOAT, rawData: new Uint8Array(data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength)) }));
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
  reshape(x: string, dims: number[]): string {
    return this.op('Reshape', [x, this.ints(dims)]);
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

  encode(graphName: string): Uint8Array {
    const model = onnx.ModelProto.create({
      irVersion: 8,
      producerName: 'nca',
      opsetImport: [{ domain: '', version: 18 }],
      graph: { name: graphName, node: this.nodes, initializer: this.inits, input: this.inputs, output: this.outputs },
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

// ---------------------------------------------------------------------------------------------
// Running a graph

/** A float32 tensor to feed: data and shape. */
export interface Feed {
  data: Float32Array;
  dims: number[];
}

export interface GraphSessionOptions {
  /** onnxruntime intra-op threads (default: the number of cores). Spinning is off, as in nca-op.ts. */
  threads?: number;
}

/** One onnxruntime session: Float32Arrays in, Float32Arrays out. Call dispose() when done. */
export interface GraphSession {
  readonly threads: number;
  run(feeds: Record<string, Feed>, fetch: readonly string[]): Promise<Record<string, Float32Array>>;
  dispose(): Promise<void>;
}

/** The session options of nca-op.ts: `threads` intra-op threads, sequential, no spinning, quiet. */
export function sessionOptions(threads: number): ort.InferenceSession.SessionOptions {
  return {
    intraOpNumThreads: threads,
    interOpNumThreads: 1,
    executionMode: 'sequential',
    graphOptimizationLevel: 'all',
    logSeverityLevel: 3,
    extra: { session: { intra_op: { allow_spinning: '0' }, inter_op: { allow_spinning: '0' } } },
  };
}

/** Opens a session on `graph` (from one of the builders of this folder). */
export async function openGraphSession(graph: Uint8Array, opts: GraphSessionOptions = {}): Promise<GraphSession> {
  const { default: runtime } = await import('onnxruntime-node');
  const threads = opts.threads ?? availableParallelism();
  if (!Number.isInteger(threads) || threads < 1) throw new RangeError(`threads must be a positive integer, got ${threads}`);
  const session = await runtime.InferenceSession.create(graph, sessionOptions(threads));
  return {
    threads,
    async run(feeds, fetch) {
      const tensors: Record<string, ort.Tensor> = {};
      for (const [name, { data, dims }] of Object.entries(feeds)) tensors[name] = new runtime.Tensor('float32', data, dims);
      const out = await session.run(tensors, [...fetch]);
      const result: Record<string, Float32Array> = {};
      for (const name of fetch) result[name] = out[name]!.data as Float32Array;
      return result;
    },
    async dispose() {
      await session.release();
    },
  };
}

/** The name of the graph output holding dL/d`name` (a weight's PyTorch name or an input's). */
export const gradName = (name: string): string => `grad.${name}`;

export function checkBatch(batch: number): void {
  if (!Number.isInteger(batch) || batch < 1) throw new RangeError(`batch must be a positive integer, got ${batch}`);
}

/** A feed of `data` with shape `dims`, its length checked. */
export function feed(what: string, data: Float32Array, dims: number[]): Feed {
  const size = dims.reduce((a, b) => a * b, 1);
  if (!(data instanceof Float32Array) || data.length !== size) throw new RangeError(`${what} has ${data?.length} values; expected [${dims.join('][')}] = ${size}`);
  return { data, dims };
}

/** The feed of weight `name` from `weights`, its shape checked. */
export function weightFeed(weights: NamedArrays, name: string, shape: number[]): Feed {
  const t = weights.get(name);
  if (!t) throw new RangeError(`the weights have no tensor ${name}`);
  if (t.shape.length !== shape.length || t.shape.some((d, i) => d !== shape[i])) throw new RangeError(`${name} has shape [${t.shape.join(', ')}], expected [${shape.join(', ')}]`);
  return feed(name, t.data, shape);
}

/** A network of one input and one output (hypernetwork, decoder) as its two graphs and their names. */
export interface NetworkGraphs {
  /** The forward graph and the forward + backward graph. */
  forward: Uint8Array;
  train: Uint8Array;
  /** Names and per-sample shapes (without the batch) of the input, the output and dL/d(output). */
  input: { name: string; item: number[] };
  output: { name: string; item: number[] };
  gradOutput: string;
  /** The weights fed by name, with their shapes; their gradients are the outputs gradName(name). */
  weights: ReadonlyArray<{ name: string; shape: number[] }>;
}

/** The output, and with an upstream gradient the gradients by name: the input's name and every weight's. */
export interface NetworkResult {
  output: Float32Array;
  grads?: Map<string, Float32Array>;
}

/**
 * A network on onnxruntime: `run(input, batch, weights)` is the forward; with `gradOutput`
 * (dL/d(output), [batch][...output]) the same run also returns dL/d(input) and dL/d(every weight).
 */
export interface OnnxNetwork {
  readonly threads: number;
  run(input: Float32Array, batch: number, weights: NamedArrays, gradOutput?: Float32Array): Promise<NetworkResult>;
  dispose(): Promise<void>;
}

/** A forward session and a forward + backward session, opened together and released together. */
export interface SessionPair {
  readonly threads: number;
  readonly forward: GraphSession;
  readonly train: GraphSession;
  dispose(): Promise<void>;
}

export async function openSessionPair(forwardGraph: Uint8Array, trainGraph: Uint8Array, opts: GraphSessionOptions = {}): Promise<SessionPair> {
  const forward = await openGraphSession(forwardGraph, opts);
  let train: GraphSession;
  try {
    train = await openGraphSession(trainGraph, opts);
  } catch (e) {
    await forward.dispose();
    throw e;
  }
  return {
    threads: forward.threads,
    forward,
    train,
    async dispose() {
      await Promise.all([forward.dispose(), train.dispose()]);
    },
  };
}

/** Opens the two sessions of `graphs` (symbolic batch: one session serves every batch size). Call dispose(). */
export async function openNetwork(graphs: NetworkGraphs, opts: GraphSessionOptions = {}): Promise<OnnxNetwork> {
  const sessions = await openSessionPair(graphs.forward, graphs.train, opts);
  const { input, output } = graphs;
  const gradFetch = [input.name, ...graphs.weights.map((w) => w.name)];
  return {
    threads: sessions.threads,
    async run(x, batch, weights, gradOutput) {
      checkBatch(batch);
      const feeds: Record<string, Feed> = { [input.name]: feed(input.name, x, [batch, ...input.item]) };
      for (const { name, shape } of graphs.weights) feeds[name] = weightFeed(weights, name, shape);
      if (!gradOutput) return { output: (await sessions.forward.run(feeds, [output.name]))[output.name]! };
      feeds[graphs.gradOutput] = feed(graphs.gradOutput, gradOutput, [batch, ...output.item]);
      const out = await sessions.train.run(feeds, [output.name, ...gradFetch.map(gradName)]);
      return { output: out[output.name]!, grads: new Map(gradFetch.map((name) => [name, out[gradName(name)]!])) };
    },
    dispose: () => sessions.dispose(),
  };
}
