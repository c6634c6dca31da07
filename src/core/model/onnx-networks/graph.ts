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
import { onnxSessionOptions } from '../../onnx-session.js';

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

/**
 * Which graph of a network a builder writes:
 * - `forward`: the output alone;
 * - `train`: forward and backward in one run (the upstream gradient is an input, the gradients outputs);
 * - `forward-saved`: the output and the activations the backward needs (outputs `saved.<key>`);
 * - `backward`: the gradients from those activations (inputs `saved.<key>`), the network's input, the
 *   weights and the upstream gradient: the forward is not run again.
 */
export type GraphPart = 'forward' | 'train' | 'forward-saved' | 'backward';
export const GRAPH_PARTS: readonly GraphPart[] = ['forward', 'train', 'forward-saved', 'backward'];

/** The four graphs of a network from its builder. */
export function allParts(build: (part: GraphPart) => Uint8Array): Record<GraphPart, Uint8Array> {
  return Object.fromEntries(GRAPH_PARTS.map((part) => [part, build(part)])) as Record<GraphPart, Uint8Array>;
}

/** The graph output / input name of a saved activation. */
export const savedName = (key: string): string => `saved.${key}`;

/**
 * `save(key, value, dims)` marks an activation the backward reads: it returns the name to use from
 * there on (the value itself, or in a `backward` graph the input holding it); a `forward-saved`
 * graph also outputs it.
 */
export function activationSaver(g: GraphBuilder, part: GraphPart): (key: string, value: string, dims: Dim[]) => string {
  return (key, value, dims) => {
    if (part === 'backward') return g.input(savedName(key), dims);
    if (part === 'forward-saved') g.output(value, savedName(key), dims);
    return value;
  };
}

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
      opsetImport: [{ domain: '', version: 18 }],
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
  readonly outputNames: readonly string[];
  run(feeds: Record<string, Feed>, fetch: readonly string[]): Promise<Record<string, Float32Array>>;
  /** The same, with each output's shape. */
  runFeeds(feeds: Record<string, Feed>, fetch: readonly string[]): Promise<Record<string, Feed>>;
  dispose(): Promise<void>;
}

/** Opens a session on `graph` (from one of the builders of this folder). */
export async function openGraphSession(graph: Uint8Array, opts: GraphSessionOptions = {}): Promise<GraphSession> {
  const { default: runtime } = await import('onnxruntime-node');
  const threads = opts.threads ?? availableParallelism();
  if (!Number.isInteger(threads) || threads < 1) throw new RangeError(`threads must be a positive integer, got ${threads}`);
  const session = await runtime.InferenceSession.create(graph, onnxSessionOptions(threads));
  const runFeeds = async (feeds: Record<string, Feed>, fetch: readonly string[]): Promise<Record<string, Feed>> => {
    const tensors: Record<string, ort.Tensor> = {};
    // only what the graph reads (a pruned backward graph has fewer inputs than the forward)
    for (const name of session.inputNames) {
      const f = feeds[name];
      if (!f) throw new RangeError(`no feed for the graph input ${name}`);
      tensors[name] = new runtime.Tensor('float32', f.data, f.dims);
    }
    const out = await session.run(tensors, [...fetch]);
    const result: Record<string, Feed> = {};
    for (const name of fetch) result[name] = { data: out[name]!.data as Float32Array, dims: [...out[name]!.dims] };
    return result;
  };
  return {
    threads,
    outputNames: session.outputNames,
    runFeeds,
    async run(feeds, fetch) {
      const out = await runFeeds(feeds, fetch);
      return Object.fromEntries(fetch.map((name) => [name, out[name]!.data]));
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

/** The four graphs of a network (see GraphPart) and the names it is run with. */
export interface NetworkSpec {
  graphs: Record<GraphPart, Uint8Array>;
  /** The weights fed by name, with their shapes; their gradients are the outputs gradName(name). */
  weights: ReadonlyArray<{ name: string; shape: number[] }>;
  /** The data inputs, with their per-sample shapes (without the batch). */
  inputs: ReadonlyArray<{ name: string; item: number[] }>;
  /** The forward's outputs. */
  outputs: readonly string[];
  /** The upstream gradients (inputs of the train and backward graphs), per-sample shapes. */
  gradOutputs: ReadonlyArray<{ name: string; item: number[] }>;
  /** Data inputs whose gradient is also an output (gradName(name)). */
  gradInputs: readonly string[];
}

/** The activations a `forward-saved` run kept for `backward`: feeds of the backward graph. */
export interface SavedActivations {
  readonly batch: number;
  readonly feeds: Readonly<Record<string, Feed>>;
}

export interface NetworkRun {
  /** The forward's outputs by name. */
  outputs: Record<string, Float32Array>;
  /** With upstream gradients: the gradient of every weight and of every gradInput, by name. */
  grads?: Map<string, Float32Array>;
}

/** The four sessions of a network and the checked feeds for them. */
export interface NetworkSessions {
  readonly threads: number;
  /** Forward, or forward + backward in one run when `upstream` is given. */
  run(inputs: Record<string, Float32Array>, batch: number, weights: NamedArrays, upstream?: Record<string, Float32Array>): Promise<NetworkRun>;
  /** Forward that also keeps the activations the backward needs. */
  forwardSaved(inputs: Record<string, Float32Array>, batch: number, weights: NamedArrays): Promise<NetworkRun & { saved: SavedActivations }>;
  /** The gradients from the saved activations: the same inputs and weights as the forward, and the upstream gradients. */
  backward(saved: SavedActivations, inputs: Record<string, Float32Array>, weights: NamedArrays, upstream: Record<string, Float32Array>): Promise<Map<string, Float32Array>>;
  dispose(): Promise<void>;
}

/** Opens the four sessions of `spec` (symbolic batch: one session serves every batch size). Call dispose(). */
export async function openNetworkSessions(spec: NetworkSpec, opts: GraphSessionOptions = {}): Promise<NetworkSessions> {
  const sessions: Partial<Record<GraphPart, GraphSession>> = {};
  const disposeAll = () => Promise.all(Object.values(sessions).map((s) => s.dispose()));
  try {
    for (const part of GRAPH_PARTS) sessions[part] = await openGraphSession(spec.graphs[part], opts);
  } catch (e) {
    await disposeAll();
    throw e;
  }
  const session = (part: GraphPart) => sessions[part]!;
  const gradNames = [...spec.gradInputs, ...spec.weights.map((w) => w.name)];
  const savedOutputs = session('forward-saved').outputNames.filter((name) => name.startsWith(savedName('')));
  const feedsOf = (inputs: Record<string, Float32Array>, batch: number, weights: NamedArrays, upstream?: Record<string, Float32Array>) => {
    checkBatch(batch);
    const feeds: Record<string, Feed> = {};
    for (const { name, item } of spec.inputs) feeds[name] = feed(name, inputs[name]!, [batch, ...item]);
    for (const { name, shape } of spec.weights) feeds[name] = weightFeed(weights, name, shape);
    if (upstream) for (const { name, item } of spec.gradOutputs) feeds[name] = feed(name, upstream[name]!, [batch, ...item]);
    return feeds;
  };
  const gradsOf = (out: Record<string, Float32Array>) => new Map(gradNames.map((name) => [name, out[gradName(name)]!]));
  const pick = (out: Record<string, Float32Array>) => Object.fromEntries(spec.outputs.map((name) => [name, out[name]!]));
  return {
    threads: session('forward').threads,
    async run(inputs, batch, weights, upstream) {
      const feeds = feedsOf(inputs, batch, weights, upstream);
      if (!upstream) return { outputs: pick(await session('forward').run(feeds, spec.outputs)) };
      const out = await session('train').run(feeds, [...spec.outputs, ...gradNames.map(gradName)]);
      return { outputs: pick(out), grads: gradsOf(out) };
    },
    async forwardSaved(inputs, batch, weights) {
      const out = await session('forward-saved').runFeeds(feedsOf(inputs, batch, weights), [...spec.outputs, ...savedOutputs]);
      const saved = Object.fromEntries(savedOutputs.map((name) => [name, out[name]!]));
      return { outputs: pick(Object.fromEntries(spec.outputs.map((name) => [name, out[name]!.data]))), saved: { batch, feeds: saved } };
    },
    async backward(saved, inputs, weights, upstream) {
      const feeds = { ...feedsOf(inputs, saved.batch, weights, upstream), ...saved.feeds };
      return gradsOf(await session('backward').run(feeds, gradNames.map(gradName)));
    },
    dispose: async () => {
      await disposeAll();
    },
  };
}

/** The output, and with an upstream gradient the gradients by name: the input's name and every weight's. */
export interface NetworkResult {
  output: Float32Array;
  grads?: Map<string, Float32Array>;
}

/**
 * A network of one input and one output (hypernetwork, decoder) on onnxruntime.
 * - `run(input, batch, weights)`: the forward; with `gradOutput` (dL/d(output), [batch][...output])
 *   the same run also returns dL/d(input) and dL/d(every weight).
 * - `forwardSaved` then `backward`: the same in two runs, for a caller that needs the output before it
 *   knows its gradient (the trainer: the NCA rollout sits in between); the forward is not run twice.
 */
export interface OnnxNetwork {
  readonly threads: number;
  run(input: Float32Array, batch: number, weights: NamedArrays, gradOutput?: Float32Array): Promise<NetworkResult>;
  forwardSaved(input: Float32Array, batch: number, weights: NamedArrays): Promise<{ output: Float32Array; saved: SavedActivations }>;
  backward(saved: SavedActivations, input: Float32Array, weights: NamedArrays, gradOutput: Float32Array): Promise<Map<string, Float32Array>>;
  dispose(): Promise<void>;
}

/** openNetworkSessions for a spec of one input, one output and one upstream gradient; the input's gradient is returned. */
export async function openNetwork(spec: Omit<NetworkSpec, 'gradInputs'>, opts: GraphSessionOptions = {}): Promise<OnnxNetwork> {
  const sessions = await openNetworkSessions({ ...spec, gradInputs: [spec.inputs[0]!.name] }, opts);
  const input = spec.inputs[0]!.name;
  const output = spec.outputs[0]!;
  const gradOutput = spec.gradOutputs[0]!.name;
  return {
    threads: sessions.threads,
    async run(x, batch, weights, g) {
      const r = await sessions.run({ [input]: x }, batch, weights, g ? { [gradOutput]: g } : undefined);
      return r.grads ? { output: r.outputs[output]!, grads: r.grads } : { output: r.outputs[output]! };
    },
    async forwardSaved(x, batch, weights) {
      const r = await sessions.forwardSaved({ [input]: x }, batch, weights);
      return { output: r.outputs[output]!, saved: r.saved };
    },
    backward: (saved, x, weights, g) => sessions.backward(saved, { [input]: x }, weights, { [gradOutput]: g }),
    dispose: () => sessions.dispose(),
  };
}
