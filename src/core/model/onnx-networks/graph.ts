/**
 * What the networks' training graphs (hypernetwork.ts, decoder.ts, encoder.ts in this folder) share
 * beyond the graph writer (src/core/onnx-graph-writer.ts): the four graph parts of a network and the
 * saved activations between them, and the session runner (Float32Arrays in and out, feeds checked).
 */
import { availableParallelism } from 'node:os';
import type { Dim, GraphBuilder } from '../../onnx-graph-writer.js';
import type ort from 'onnxruntime-node';
import type { NamedArrays } from '../weights.js';
import { onnxSessionOptions } from '../../onnx-session.js';

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
