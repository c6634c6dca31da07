/** Benchmarks contributed by other parts of nca (GIF encoding, audio), each optional until it exists. */
export async function extraBenchmarks(log: (s: string) => void, quick: boolean): Promise<Record<string, unknown>> {
  const out: Record<string, unknown> = {};
  log('gif encoding');
  const gif = await import('../core/io/gif.js');
  out.gif = await gif.benchmarkGif(quick);
  return out;
}
